using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// The reference's InferenceBlock (spec 5.1): Linear C→H, Softplus, Linear H→H, Softplus, Linear H→C, weights
/// "{prefix}.module.{0,2,4}.{weight,bias}".
/// </summary>
public sealed class Mlp3(IBackend backend, HeadWeights weights, string prefix)
{
    private readonly Tensor w0 = weights[$"{prefix}.module.0.weight"], b0 = weights[$"{prefix}.module.0.bias"];
    private readonly Tensor w2 = weights[$"{prefix}.module.2.weight"], b2 = weights[$"{prefix}.module.2.bias"];
    private readonly Tensor w4 = weights[$"{prefix}.module.4.weight"], b4 = weights[$"{prefix}.module.4.bias"];

    /// <summary>y[N,C] = MLP3(x[N,C]).</summary>
    public void Forward(Tensor y, Tensor x)
    {
        var rows = x.Shape.Rows;
        using var h1 = backend.Allocate(new Shape(rows, w0.Shape[0]), $"{prefix}.h1");
        using var h2 = backend.Allocate(new Shape(rows, w2.Shape[0]), $"{prefix}.h2");
        backend.Linear(h1, x, w0, b0);
        backend.Softplus(h1, h1);
        backend.Linear(h2, h1, w2, b2);
        backend.Softplus(h2, h2);
        backend.Linear(y, h2, w4, b4);
    }
}
