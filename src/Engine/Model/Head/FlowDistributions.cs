using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// R samples of one flow distribution: base mu, v [1,C] (v is the variance, spec 14.4), z0, zK [R,C],
/// logdet [R] (sum over the K steps), a [R,K] (pre-activations, saved for backward).
/// </summary>
public sealed record FlowSamples(Tensor Mu, Tensor V, Tensor Z0, Tensor ZK, Tensor LogDet, Tensor A) : IDisposable
{
    public static FlowSamples Allocate(IBackend be, string name, int samples, int dim, int steps) => new(
        be.Allocate(new Shape(1, dim), $"{name}.mu"), be.Allocate(new Shape(1, dim), $"{name}.v"),
        be.Allocate(new Shape(samples, dim), $"{name}.z0"), be.Allocate(new Shape(samples, dim), $"{name}.zK"),
        be.Allocate(new Shape(samples), $"{name}.logdet"), be.Allocate(new Shape(samples, steps), $"{name}.a"));

    public void Dispose()
    {
        foreach (var t in new[] { Mu, V, Z0, ZK, LogDet, A }) t.Dispose();
    }
}

/// <summary>Encoder (spec 5.1): mu = m(x), h = h(x) by two MLP3 heads; z0 = mu + sqrt(exp(0.5 h))·eps.</summary>
public sealed class FlowEncoder(IBackend backend, HeadWeights weights, string prefix)
{
    private readonly Mlp3 mean = new(backend, weights, $"{prefix}.weight_mean");
    private readonly Mlp3 logVariance = new(backend, weights, $"{prefix}.weight_log_variance");

    /// <summary>x [1,C], eps [R,C] → s.Mu, s.V, s.Z0.</summary>
    public void Sample(FlowSamples s, Tensor x, Tensor eps)
    {
        using var h = backend.Allocate(s.Mu.Shape, $"{prefix}.h");
        mean.Forward(s.Mu, x);
        logVariance.Forward(h, x);
        backend.FlowBaseSample(s.Z0, s.V, s.Mu, h, eps);
    }
}

/// <summary>
/// Image-specific distribution of the context tokens (spec 5.3): encoder context_encoder on g, flow parameters
/// amortised from g (u, w = Linear(g) reshaped [K,C] k-major, b = Linear(g) [K]), shared by the R samples.
/// </summary>
public sealed class ContextDistribution(IBackend backend, HeadWeights weights)
{
    private readonly FlowEncoder encoder = new(backend, weights, "context_encoder");

    /// <summary>g [1,C] (raw global image embedding), eps [R,C] → s.</summary>
    public void Sample(FlowSamples s, Tensor g, Tensor eps)
    {
        int k = weights.Config.Steps, c = weights.Config.Embed;
        encoder.Sample(s, g, eps);
        using var u = backend.Allocate(new Shape(1, k * c), "PFL_context.u");
        using var w = backend.Allocate(new Shape(1, k * c), "PFL_context.w");
        using var b = backend.Allocate(new Shape(1, k), "PFL_context.b");
        backend.Linear(u, g, weights["PFL_context.amor_u.weight"], weights["PFL_context.amor_u.bias"]);
        backend.Linear(w, g, weights["PFL_context.amor_w.weight"], weights["PFL_context.amor_w.bias"]);
        backend.Linear(b, g, weights["PFL_context.amor_b.weight"], weights["PFL_context.amor_b.bias"]);
        backend.PlanarFlow(s.ZK, s.LogDet, s.A, s.Z0, u.Reshape(1, k, c), w.Reshape(1, k, c), b);
    }
}

/// <summary>
/// Image-agnostic distribution of the normal or abnormal state tokens (spec 5.4): the shared state_encoder fed
/// with this distribution's own learnable state vector, and free flow parameters; g is ignored.
/// </summary>
public sealed class StateDistribution(IBackend backend, HeadWeights weights, string prefix)
{
    private readonly FlowEncoder encoder = new(backend, weights, "state_encoder");

    public string Prefix => prefix;

    /// <summary>eps [R,C] → s.</summary>
    public void Sample(FlowSamples s, Tensor eps)
    {
        encoder.Sample(s, weights[$"{prefix}.state"], eps);
        backend.PlanarFlow(s.ZK, s.LogDet, s.A, s.Z0, weights[$"{prefix}.amor_u"], weights[$"{prefix}.amor_w"], weights[$"{prefix}.amor_b"]);
    }
}
