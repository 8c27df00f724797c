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

    /// <summary>The checkpoint-name prefix of this block's weights.</summary>
    public string Prefix => prefix;

    /// <summary>H, the hidden width.</summary>
    public int Hidden => w0.Shape[0];

    /// <summary>
    /// y[N,C] = MLP3(x[N,C]). A training forward passes <paramref name="keep"/> to get the activations its
    /// backward needs; inference lets them be temporaries.
    /// </summary>
    public void Forward(Tensor y, Tensor x, Mlp3Activations? keep = null)
    {
        using var temporary = keep is null ? Mlp3Activations.Allocate(backend, prefix, x.Shape.Rows, Hidden) : null;
        var act = keep ?? temporary!;
        backend.Linear(act.Pre1, x, w0, b0);
        backend.Softplus(act.Hidden1, act.Pre1);
        backend.Linear(act.Pre2, act.Hidden1, w2, b2);
        backend.Softplus(act.Hidden2, act.Pre2);
        backend.Linear(y, act.Hidden2, w4, b4);
    }
}

/// <summary>The hidden layers of one <see cref="Mlp3"/> forward [rows, H]: Softplus inputs and outputs.</summary>
public sealed record Mlp3Activations(Tensor Pre1, Tensor Hidden1, Tensor Pre2, Tensor Hidden2) : IDisposable
{
    public static Mlp3Activations Allocate(IBackend be, string name, int rows, int hidden)
    {
        var s = new Shape(rows, hidden);
        return new(be.Allocate(s, $"{name}.pre1"), be.Allocate(s, $"{name}.h1"), be.Allocate(s, $"{name}.pre2"), be.Allocate(s, $"{name}.h2"));
    }

    public void Dispose()
    {
        foreach (var t in new[] { Pre1, Hidden1, Pre2, Hidden2 }) t.Dispose();
    }
}
