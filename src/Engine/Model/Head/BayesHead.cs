using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// The test-time head for one image (spec 15), in two calls around the text tower:
/// <see cref="Prompts"/> draws the flow samples and returns the learnable prompt blocks the tower splices in;
/// <see cref="Score"/> takes the tower's normalised embeddings T [2·B·R, C] and the vision outputs and writes
/// p_img and the (unsmoothed) anomaly map. Batch size 1 (spec 14.10).
/// </summary>
public sealed class BayesHead : IDisposable
{
    private readonly IBackend backend;
    private readonly HeadWeights weights;
    private readonly ImageBranch image;
    private readonly PixelBranch pixel;
    private PixelOutputs? pixelOutputs;

    /// <param name="samples">R flow samples per distribution (10 in the reference).</param>
    /// <param name="seed">Seed of the <see cref="GaussianNoise"/> stream (the reference runs with seed 333).</param>
    public BayesHead(IBackend backend, HeadWeights weights, int samples = 10, ulong seed = 333)
    {
        this.backend = backend;
        this.weights = weights;
        Sampler = new PromptSampler(backend, weights, samples, seed);
        image = new ImageBranch(backend, weights);
        pixel = new PixelBranch(backend, weights);
    }

    public PromptSampler Sampler { get; }

    /// <summary>The last image's RCA outputs and per-layer logit maps (valid until the next Score).</summary>
    public PixelOutputs? Pixel => pixelOutputs;

    /// <summary>Samples for the image with global embedding g [1,C]; returns blocks [2·B·R, 2·Tokens, C] (caller disposes).</summary>
    public Tensor Prompts(Tensor g)
    {
        Sampler.Draw(g);
        return Sampler.PromptBlocks();
    }

    /// <summary>As <see cref="Prompts(Tensor)"/> with injected noise [3,R,C] (context, normal, abnormal).</summary>
    public Tensor Prompts(Tensor g, ReadOnlySpan<float> noise)
    {
        Sampler.Draw(g, noise);
        return Sampler.PromptBlocks();
    }

    /// <summary>
    /// pImg [1,1] and map [S,S] from g [1,C], the taps F_j [P,Cv] (CLS dropped, layer order 6, 12, 18, 24) and
    /// text [2·B·R, C] (normal half first, index r·B + b).
    /// </summary>
    public void Score(Tensor pImg, Tensor map, Tensor g, IReadOnlyList<Tensor> taps, Tensor text)
    {
        int texts = text.Shape[0], c = weights.Config.Embed, p = taps[0].Shape[0];
        var grid = (int)Math.Round(Math.Sqrt(p));
        Check.That(grid * grid == p, "BayesHead.Score", $"{taps[0].Name} has {p} patches, not a square grid");
        Check.Shape("BayesHead.Score", map, -1, map.Shape[0]);
        if (pixelOutputs is null || !pixelOutputs.Map.Shape.Equals(map.Shape) || !pixelOutputs.Logits.Shape.Equals(new Shape(weights.Config.Taps, texts, grid, grid)))
        {
            pixelOutputs?.Dispose();
            pixelOutputs = PixelOutputs.Allocate(backend, weights.Config, texts, grid, map.Shape[0]);
        }
        using (var fuse = backend.Allocate(new Shape(1, c), "fuse"))
        using (var cos = backend.Allocate(new Shape(1, texts), "cos"))
        {
            if (weights.Config.Stage2) image.Fuse(fuse, taps);
            image.Classify(cos, pImg, text, g, fuse);
        }
        pixel.Forward(pixelOutputs, taps, text);
        backend.Copy(map, pixelOutputs.Map);
    }

    public void Dispose()
    {
        pixelOutputs?.Dispose();
        Sampler.Dispose();
    }
}
