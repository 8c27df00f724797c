using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// Test-time sampling schedule (spec 5.5, 14.9) and prompt assembly. Per image it draws R context samples from
/// the image-specific distribution; the R normal and R abnormal samples are drawn at the first image and
/// reused until <see cref="Reset"/>. Noise per image is 3·R·C values in the reference's order (context, then
/// normal, then abnormal); the state part is consumed even when the cache makes it unused, as the reference
/// does, so a seeded stream advances the same way. Noise is injected (parity tests) or drawn from a seeded
/// <see cref="GaussianNoise"/>.
/// </summary>
public sealed class PromptSampler : IDisposable
{
    private readonly IBackend backend;
    private readonly HeadWeights weights;
    private readonly ContextDistribution context;
    private readonly StateDistribution normal, abnormal;
    private readonly GaussianNoise noise;
    private readonly Tensor eps;

    public PromptSampler(IBackend backend, HeadWeights weights, int samples, ulong seed)
    {
        this.backend = backend;
        this.weights = weights;
        Samples = samples;
        context = new ContextDistribution(backend, weights);
        normal = new StateDistribution(backend, weights, "PFL_normal");
        abnormal = new StateDistribution(backend, weights, "PFL_abnormal");
        noise = new GaussianNoise(seed);
        eps = backend.Allocate(new Shape(3, samples, weights.Config.Embed), "PromptSampler.eps");
        Context = Allocate("context");
    }

    /// <summary>R, the samples per distribution.</summary>
    public int Samples { get; }

    /// <summary>The current image's context samples.</summary>
    public FlowSamples Context { get; }

    /// <summary>The cached normal-state samples (null before the first image or after Reset).</summary>
    public FlowSamples? Normal { get; private set; }

    public FlowSamples? Abnormal { get; private set; }

    /// <summary>Forget the image-agnostic samples; the next image draws new ones.</summary>
    public void Reset()
    {
        Normal?.Dispose();
        Abnormal?.Dispose();
        Normal = Abnormal = null;
    }

    /// <summary>Samples for one image with g [1,C], noise from the seeded stream.</summary>
    public void Draw(Tensor g)
    {
        var host = new float[eps.Length];
        noise.Fill(host);
        Draw(g, host);
    }

    /// <summary>Samples for one image with injected noise [3,R,C] (context, normal, abnormal).</summary>
    public void Draw(Tensor g, ReadOnlySpan<float> noise3)
    {
        backend.Upload(eps, noise3);
        var perDist = new Shape(Samples, weights.Config.Embed);
        context.Sample(Context, g, eps.View(0, perDist));
        if (Normal is not null) return;
        Normal = Allocate(normal.Prefix);
        Abnormal = Allocate(abnormal.Prefix);
        normal.Sample(Normal, eps.View(perDist.Length, perDist));
        abnormal.Sample(Abnormal, eps.View(2 * perDist.Length, perDist));
    }

    /// <summary>The learnable prompt tokens [2·B·R, 2·Tokens, C] for the text tower (spec 6 order).</summary>
    public Tensor PromptBlocks()
    {
        if (Normal is null || Abnormal is null) throw new InvalidOperationException("PromptSampler.PromptBlocks: call Draw first");
        var c = weights.Config;
        var blocks = backend.Allocate(new Shape(2 * c.Bank * Samples, 2 * c.Tokens, c.Embed), "prompt_blocks");
        backend.PromptBlocks(blocks, weights["prompt_context"], weights["prompt_state_normal"], weights["prompt_state_abnormal"],
            Context.ZK, Normal.ZK, Abnormal.ZK);
        return blocks;
    }

    private FlowSamples Allocate(string name) => FlowSamples.Allocate(backend, name, Samples, weights.Config.Embed, weights.Config.Steps);

    public void Dispose()
    {
        Reset();
        Context.Dispose();
        eps.Dispose();
    }
}
