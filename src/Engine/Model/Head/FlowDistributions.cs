using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// R samples of one flow distribution: base mu, v [P,C] (v is the variance, spec 14.4; P = 1 when the R samples
/// share one distribution, P = R when each has its own), z0, zK [R,C], logdet [R] (sum over the K steps),
/// a [R,K] (pre-activations, saved for backward).
/// </summary>
public sealed record FlowSamples(Tensor Mu, Tensor V, Tensor Z0, Tensor ZK, Tensor LogDet, Tensor A) : IDisposable
{
    public static FlowSamples Allocate(IBackend be, string name, int samples, int dim, int steps, int distributions = 1) => new(
        be.Allocate(new Shape(distributions, dim), $"{name}.mu"), be.Allocate(new Shape(distributions, dim), $"{name}.v"),
        be.Allocate(new Shape(samples, dim), $"{name}.z0"), be.Allocate(new Shape(samples, dim), $"{name}.zK"),
        be.Allocate(new Shape(samples), $"{name}.logdet"), be.Allocate(new Shape(samples, steps), $"{name}.a"));

    public void Dispose()
    {
        foreach (var t in new[] { Mu, V, Z0, ZK, LogDet, A }) t.Dispose();
    }
}

/// <summary>The activations of both <see cref="FlowEncoder"/> heads that a training forward keeps.</summary>
public sealed record EncoderActivations(Mlp3Activations Mean, Mlp3Activations LogVariance) : IDisposable
{
    public static EncoderActivations Allocate(IBackend be, string name, int rows, int hidden) =>
        new(Mlp3Activations.Allocate(be, $"{name}.mean", rows, hidden), Mlp3Activations.Allocate(be, $"{name}.log_variance", rows, hidden));

    public void Dispose()
    {
        Mean.Dispose();
        LogVariance.Dispose();
    }
}

/// <summary>Encoder (spec 5.1): mu = m(x), h = h(x) by two MLP3 heads; z0 = mu + sqrt(exp(0.5 h))·eps.</summary>
public sealed class FlowEncoder(IBackend backend, HeadWeights weights, string prefix)
{
    public Mlp3 Mean { get; } = new(backend, weights, $"{prefix}.weight_mean");

    public Mlp3 LogVariance { get; } = new(backend, weights, $"{prefix}.weight_log_variance");

    /// <summary>x [P,C], eps [R,C] → s.Mu, s.V [P,C], s.Z0 [R,C]; <paramref name="keep"/> receives the heads' activations.</summary>
    public void Sample(FlowSamples s, Tensor x, Tensor eps, EncoderActivations? keep = null)
    {
        using var h = backend.Allocate(s.Mu.Shape, $"{prefix}.h");
        Mean.Forward(s.Mu, x, keep?.Mean);
        LogVariance.Forward(h, x, keep?.LogVariance);
        backend.FlowBaseSample(s.Z0, s.V, s.Mu, h, eps);
    }
}

/// <summary>Amortised planar-flow parameters of the context distribution: u, w [P,K,C], b [P,K].</summary>
public sealed record AmortisedFlow(Tensor U, Tensor W, Tensor B) : IDisposable
{
    public static AmortisedFlow Allocate(IBackend be, int distributions, int steps, int dim) => new(
        be.Allocate(new Shape(distributions, steps, dim), "PFL_context.u"), be.Allocate(new Shape(distributions, steps, dim), "PFL_context.w"),
        be.Allocate(new Shape(distributions, steps), "PFL_context.b"));

    public void Dispose()
    {
        U.Dispose();
        W.Dispose();
        B.Dispose();
    }
}

/// <summary>
/// Image-specific distribution of the context tokens (spec 5.3): encoder context_encoder on g, flow parameters
/// amortised from g (u, w = Linear(g) reshaped [K,C] k-major, b = Linear(g) [K]). Test time: one g shared by
/// the R samples; training: one g, hence one distribution, per sample.
/// </summary>
public sealed class ContextDistribution(IBackend backend, HeadWeights weights)
{
    public FlowEncoder Encoder { get; } = new(backend, weights, "context_encoder");

    /// <summary>
    /// g [P,C] (raw global image embeddings), eps [R,C] with P = 1 or R → s. A training forward passes
    /// <paramref name="keep"/> and <paramref name="flow"/> to keep the activations and the flow parameters.
    /// </summary>
    public void Sample(FlowSamples s, Tensor g, Tensor eps, EncoderActivations? keep = null, AmortisedFlow? flow = null)
    {
        int p = g.Shape.Rows, k = weights.Config.Steps, c = weights.Config.Embed;
        Encoder.Sample(s, g, eps, keep);
        using var temporary = flow is null ? AmortisedFlow.Allocate(backend, p, k, c) : null;
        var f = flow ?? temporary!;
        backend.Linear(f.U.Reshape(p, k * c), g, weights["PFL_context.amor_u.weight"], weights["PFL_context.amor_u.bias"]);
        backend.Linear(f.W.Reshape(p, k * c), g, weights["PFL_context.amor_w.weight"], weights["PFL_context.amor_w.bias"]);
        backend.Linear(f.B, g, weights["PFL_context.amor_b.weight"], weights["PFL_context.amor_b.bias"]);
        backend.PlanarFlow(s.ZK, s.LogDet, s.A, s.Z0, f.U, f.W, f.B);
    }
}

/// <summary>
/// Image-agnostic distribution of the normal or abnormal state tokens (spec 5.4): the shared state_encoder fed
/// with this distribution's own learnable state vector, and free flow parameters; g is ignored.
/// </summary>
public sealed class StateDistribution(IBackend backend, HeadWeights weights, string prefix)
{
    public FlowEncoder Encoder { get; } = new(backend, weights, "state_encoder");

    public string Prefix => prefix;

    /// <summary>eps [R,C] → s; <paramref name="keep"/> receives the encoder's activations.</summary>
    public void Sample(FlowSamples s, Tensor eps, EncoderActivations? keep = null)
    {
        Encoder.Sample(s, weights[$"{prefix}.state"], eps, keep);
        backend.PlanarFlow(s.ZK, s.LogDet, s.A, s.Z0, weights[$"{prefix}.amor_u"], weights[$"{prefix}.amor_w"], weights[$"{prefix}.amor_b"]);
    }
}
