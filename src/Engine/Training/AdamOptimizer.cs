using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Training;

/// <summary>One parameter under Adam: its gradient buffer, its moments (same shape) and its group's base learning rate.</summary>
public sealed record AdamSlot(string Name, Tensor Param, Tensor Grad, Tensor M, Tensor V, double BaseLr);

/// <summary>
/// torch.optim.Adam (betas (0.5, 0.999), eps 1e-8, no weight decay) over a list of parameters in groups.
/// Every parameter steps at every update, also one whose gradient stayed zero: PyTorch skips parameters whose
/// .grad is None, but in Bayes-PFL those are the ones that never receive a gradient in the stage (decoders,
/// p_mu, and fuse/image_mapping in stage 1), whose moments stay 0 and whose update 0/(0+eps) is exactly 0 —
/// the same result, only the step count differs, and stage 2 starts a fresh optimiser anyway.
/// </summary>
public sealed class AdamOptimizer
{
    private readonly List<AdamSlot> slots = new();

    public AdamOptimizer(double beta1 = ParamGroups.Beta1, double beta2 = ParamGroups.Beta2, double eps = ParamGroups.Eps)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    /// <summary>Updates done so far (PyTorch's state['step']); the next update is number Step + 1.</summary>
    public long Step { get; set; }

    public IReadOnlyList<AdamSlot> Slots => slots;

    /// <summary>Adds a parameter with zeroed moments allocated on the parameter's backend.</summary>
    public AdamSlot Add(string name, Tensor param, Tensor grad, double baseLr)
    {
        if (slots.Any(s => s.Name == name)) throw new ArgumentException($"Adam: parameter '{name}' added twice");
        if (!grad.Shape.Equals(param.Shape)) throw new ArgumentException($"Adam: gradient {grad.Name}{grad.Shape} does not match parameter {name}{param.Shape}");
        var b = param.Backend;
        var m = b.Allocate(param.Shape, name + ".adam_m");
        var v = b.Allocate(param.Shape, name + ".adam_v");
        b.Zero(m);
        b.Zero(v);
        var slot = new AdamSlot(name, param, grad, m, v, baseLr);
        slots.Add(slot);
        return slot;
    }

    /// <summary>One update of every parameter at learning rate baseLr · multiplier (the schedule's value for this update).</summary>
    public void Update(double multiplier)
    {
        Step++;
        foreach (var s in slots)
            s.Param.Backend.AdamStep(s.Param, s.M, s.V, s.Grad, AdamScalars.For(s.BaseLr * multiplier, Beta1, Beta2, Eps, Step));
    }
}
