using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Training.Flows;

/// <summary>
/// Backward of one <see cref="Mlp3"/> (spec 5.1) over the activations its forward kept: weight and bias
/// gradients ACCUMULATE into <see cref="HeadParameters.Grad"/>; the input gradient is optional (the context
/// encoder's input g is frozen) and is ADDED to its target (the state vector a shared encoder reads twice).
/// Scratch buffers are sized for <paramref name="rows"/> rows and reused by every call.
/// </summary>
internal sealed class Mlp3Backward(IBackend backend, HeadParameters p, Mlp3 mlp, int rows) : IDisposable
{
    private readonly Tensor dHidden2 = backend.Allocate(new Shape(rows, mlp.Hidden), $"{mlp.Prefix}.dh2");
    private readonly Tensor dHidden1 = backend.Allocate(new Shape(rows, mlp.Hidden), $"{mlp.Prefix}.dh1");
    private readonly Tensor dx = backend.Allocate(new Shape(rows, p.Config.Embed), $"{mlp.Prefix}.dx");

    /// <summary>dy [rows,C] (overwritten: it is the caller's scratch) with the forward's x [rows,C] and act.</summary>
    public void Run(Tensor dy, Tensor x, Mlp3Activations act, Tensor? addInputGrad)
    {
        string W(int i) => $"{mlp.Prefix}.module.{i}.weight";
        string B(int i) => $"{mlp.Prefix}.module.{i}.bias";
        backend.LinearBackwardWeight(p.Grad(W(4)), p.Grad(B(4)), dy, act.Hidden2);
        backend.LinearBackwardInput(dHidden2, dy, p[W(4)]);
        backend.SoftplusBackward(dHidden2, dHidden2, act.Pre2);
        backend.LinearBackwardWeight(p.Grad(W(2)), p.Grad(B(2)), dHidden2, act.Hidden1);
        backend.LinearBackwardInput(dHidden1, dHidden2, p[W(2)]);
        backend.SoftplusBackward(dHidden1, dHidden1, act.Pre1);
        backend.LinearBackwardWeight(p.Grad(W(0)), p.Grad(B(0)), dHidden1, x);
        if (addInputGrad is null) return;
        backend.LinearBackwardInput(dx, dHidden1, p[W(0)]);
        backend.Add(addInputGrad, addInputGrad, dx);
    }

    public void Dispose()
    {
        dHidden2.Dispose();
        dHidden1.Dispose();
        dx.Dispose();
    }
}
