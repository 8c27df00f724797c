using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>
/// What the image tower returns for a batch of B images: the raw residual stream after each tapped block
/// with the CLS token dropped, [B, grid², W] each (no ln_post, no proj), and the global embedding
/// g = ln_post(x_L[:,0,:]) @ proj, [B,E] (not L2-normalised). The caller owns and disposes it.
/// </summary>
public sealed class VisionFeatures : IDisposable
{
    internal VisionFeatures(Tensor global, IReadOnlyList<int> tapLayers, IReadOnlyList<Tensor> taps)
    {
        Global = global;
        TapLayers = tapLayers;
        Taps = taps;
    }

    public Tensor Global { get; }

    /// <summary>1-based block indices, in the order the caller asked for them.</summary>
    public IReadOnlyList<int> TapLayers { get; }

    public IReadOnlyList<Tensor> Taps { get; }

    public void Dispose()
    {
        Global.Dispose();
        foreach (var t in Taps) t.Dispose();
    }
}

/// <summary>
/// CLIP's image tower (spec §3): patch conv, class token, positional embedding, ln_pre, L pre-norm blocks
/// without mask, ln_post on the CLS row and the projection. The unused third output of Bayes-PFL's
/// encode_image (ln_post and proj of every patch token) is not computed.
/// </summary>
public sealed class VisionTower : IDisposable
{
    /// <summary>The layers Bayes-PFL taps on ViT-L/14 (1-based).</summary>
    public static readonly IReadOnlyList<int> DefaultTaps = [6, 12, 18, 24];

    private readonly IBackend backend;
    private readonly VisionWeights w;
    private readonly VisionConfig cfg;
    private readonly int embedDim;
    private readonly ResidualBlocks blocks;

    public VisionTower(IBackend backend, ClipWeights weights)
    {
        this.backend = backend;
        w = weights.Vision;
        cfg = weights.Config.Vision;
        embedDim = weights.Config.EmbedDim;
        blocks = new ResidualBlocks(backend, cfg.Width, cfg.MlpWidth, cfg.Heads, weights.Gelu, "vision", weights.GemmType);
    }

    public VisionConfig Config => cfg;

    /// <summary>Runs the tower on images[B,3,S,S] (S = the configured image size, already normalised).</summary>
    public VisionFeatures Encode(Tensor images, IReadOnlyList<int>? tapLayers = null)
    {
        var taps = tapLayers ?? DefaultTaps;
        int s = cfg.ImageSize, c = cfg.Width, n = cfg.Tokens, p = n - 1;
        Check.Rank("VisionTower.Encode", images, 4);
        Check.Shape("VisionTower.Encode", images, images.Shape[0], 3, s, s);
        Check.That(images.Shape[0] > 0, "VisionTower.Encode", $"{images.Name} holds no images");
        foreach (var l in taps)
            Check.That(l >= 1 && l <= cfg.Layers, "VisionTower.Encode", $"tap layer {l} is outside 1..{cfg.Layers}");
        Check.That(taps.Distinct().Count() == taps.Count, "VisionTower.Encode", $"tap layers [{string.Join(",", taps)}] repeat a layer");

        var batch = images.Shape[0];
        var frame = blocks.Prepare(batch, n);
        var outputs = new List<Tensor>();
        using var x = backend.Allocate(new Shape(batch, n, c), "vision.x");
        try
        {
            Embed(frame, x, images);
            var tapOut = new Tensor[taps.Count];
            for (var l = 0; l < cfg.Layers; l++)
            {
                blocks.Run(frame, x, w.Blocks[l], causal: false);
                for (var i = 0; i < taps.Count; i++)
                {
                    if (taps[i] != l + 1) continue;
                    tapOut[i] = backend.Allocate(new Shape(batch, p, c), $"vision.tap{l + 1}");
                    outputs.Add(tapOut[i]);
                    for (var b = 0; b < batch; b++)
                        backend.Copy(tapOut[i].View((long)b * p * c, new Shape(p, c)), x.View(((long)b * n + 1) * c, new Shape(p, c)));
                }
            }
            var global = Global(x, batch);
            outputs.Add(global);
            return new VisionFeatures(global, taps.ToArray(), tapOut);
        }
        catch
        {
            foreach (var t in outputs) t.Dispose();
            throw;
        }
    }

    /// <summary>x[b] = ln_pre([class_embedding; conv1(image_b)] + positional_embedding), assembled in the frame's scratch.</summary>
    private void Embed(ResidualBlocks.Frame f, Tensor x, Tensor images)
    {
        int s = cfg.ImageSize, c = cfg.Width, n = cfg.Tokens;
        var pixels = 3L * s * s;
        for (var b = 0; b < f.Batch; b++)
        {
            var row0 = (long)b * n * c;
            var seq = f.Ln.View(row0, new Shape(n, c), "vision.embed");
            backend.PatchEmbed(f.Ln.View(row0 + c, new Shape(1, n - 1, c), "vision.patches"),
                images.View(b * pixels, new Shape(1, 3, s, s), images.Name), w.Conv1);
            backend.Copy(f.Ln.View(row0, new Shape(c), "vision.cls"), w.ClassEmbedding);
            backend.Add(seq, seq, w.PositionalEmbedding);
        }
        backend.LayerNorm(x.Reshape(f.Rows, c), f.Mean, f.Rstd, f.Ln, w.LnPreWeight, w.LnPreBias, ResidualBlocks.LayerNormEps);
    }

    /// <summary>g = ln_post(x[:,0,:]) @ proj, [B,E].</summary>
    private Tensor Global(Tensor x, int batch)
    {
        int c = cfg.Width, n = cfg.Tokens;
        using var cls = backend.Allocate(new Shape(batch, c), "vision.cls_out");
        using var ln = backend.Allocate(new Shape(batch, c), "vision.ln_post");
        using var mean = backend.Allocate(new Shape(batch), "vision.ln_post_mean");
        using var rstd = backend.Allocate(new Shape(batch), "vision.ln_post_rstd");
        for (var b = 0; b < batch; b++)
            backend.Copy(cls.View((long)b * c, new Shape(c)), x.View((long)b * n * c, new Shape(c)));
        backend.LayerNorm(ln, mean, rstd, cls, w.LnPostWeight, w.LnPostBias, ResidualBlocks.LayerNormEps);
        var g = backend.Allocate(new Shape(batch, embedDim), "vision.global");
        backend.Linear(g, ln, w.ProjT, null);
        return g;
    }

    public void Dispose() => blocks.Dispose();
}
