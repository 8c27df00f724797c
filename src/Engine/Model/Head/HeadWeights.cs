using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// The head's inference tensors under their checkpoint names (spec 12.1). Loading checks the whole file first
/// and throws one error listing every missing, extra or mis-shaped tensor. Re-layouts done at load time:
/// trailing/inner singleton dims are squeezed (RCA.q_proj_pre.weight [C,C,1] → [C,C]; PFL_*.amor_u
/// [1,K,C,1] and amor_w [1,K,1,C] → [1,K,C]; amor_b [1,K,1,1] → [1,K]), and fuse.fuse_modules.weight
/// [Hf, Taps·Cv] is stored as [Taps, Hf, Cv] (one column block per tap) so Fuse never materialises the
/// channel concat. Dead weights (decoders, p_mu) and the alias copies of shared encoders are skipped.
/// </summary>
public sealed class HeadWeights : IDisposable
{
    /// <summary>Checkpoint-name prefixes of tensors not needed at inference (decoders, p_mu, alias paths of the encoders).</summary>
    public static IReadOnlyList<string> DeadPrefixes { get; } =
    [
        "context_decoder.", "state_decoder.", "PFL_context.encoder.", "PFL_context.decoder.", "PFL_context.p_mu.",
        "PFL_normal.encoder.", "PFL_normal.decoder.", "PFL_normal.p_mu.",
        "PFL_abnormal.encoder.", "PFL_abnormal.decoder.", "PFL_abnormal.p_mu.",
    ];

    private readonly Dictionary<string, Tensor> tensors;
    private readonly bool ownsTensors;

    private HeadWeights(HeadConfig config, Dictionary<string, Tensor> tensors, float tauPixel, float tauImage, bool ownsTensors = true)
    {
        Config = config;
        this.tensors = tensors;
        TauPixel = tauPixel;
        TauImage = tauImage;
        this.ownsTensors = ownsTensors;
    }

    /// <summary>
    /// A non-owning view over tensors someone else keeps (training's <c>HeadParameters</c>): the inference
    /// classes then read the very buffers the optimiser updates. Disposing the view frees nothing.
    /// </summary>
    public static HeadWeights View(HeadConfig config, IReadOnlyDictionary<string, Tensor> tensors, float tauPixel, float tauImage) =>
        new(config, new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal), tauPixel, tauImage, ownsTensors: false);

    public HeadConfig Config { get; }

    /// <summary>temperature_pixel (log scale; the maps use exp). Settable so a training view follows the optimiser.</summary>
    public float TauPixel { get; set; }

    /// <summary>temperature_image (log scale; the logits use exp).</summary>
    public float TauImage { get; set; }

    public Tensor this[string name] =>
        tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"head weights have no tensor '{name}'");

    public IEnumerable<string> Names => tensors.Keys;

    /// <summary>Checkpoint name → (file shape, engine shape) of every tensor needed at inference.</summary>
    public static IReadOnlyDictionary<string, (int[] File, int[] Engine)> Table(HeadConfig c)
    {
        int e = c.Embed, h = c.Hidden, k = c.Steps;
        var t = new Dictionary<string, (int[], int[])>();
        void Same(string name, params int[] shape) => t[name] = (shape, shape);
        foreach (var p in new[] { "prompt_context", "prompt_state_normal", "prompt_state_abnormal" }) Same(p, c.Bank, c.Tokens, e);
        Same("temperature_pixel");
        Same("temperature_image");
        foreach (var enc in new[] { "context_encoder", "state_encoder" })
            foreach (var head in new[] { "weight_mean", "weight_log_variance" })
            {
                var m = $"{enc}.{head}.module";
                Same($"{m}.0.weight", h, e); Same($"{m}.0.bias", h);
                Same($"{m}.2.weight", h, h); Same($"{m}.2.bias", h);
                Same($"{m}.4.weight", e, h); Same($"{m}.4.bias", e);
            }
        Same("PFL_context.amor_u.weight", k * e, e); Same("PFL_context.amor_u.bias", k * e);
        Same("PFL_context.amor_w.weight", k * e, e); Same("PFL_context.amor_w.bias", k * e);
        Same("PFL_context.amor_b.weight", k, e); Same("PFL_context.amor_b.bias", k);
        foreach (var s in new[] { "PFL_normal", "PFL_abnormal" })
        {
            t[$"{s}.amor_u"] = ([1, k, e, 1], [1, k, e]);
            t[$"{s}.amor_w"] = ([1, k, 1, e], [1, k, e]);
            t[$"{s}.amor_b"] = ([1, k, 1, 1], [1, k]);
            Same($"{s}.state", 1, e);
        }
        t["fuse.fuse_modules.weight"] = ([c.FuseHidden, c.Taps * c.VisionWidth], [c.Taps, c.FuseHidden, c.VisionWidth]);
        Same("fuse.fuse_modules.bias", c.FuseHidden);
        Same("fuse.compress.weight", 1, c.FuseHidden); Same("fuse.compress.bias", 1);
        Same("fuse.post_process.weight", e, c.FuseHidden); Same("fuse.post_process.bias", e);
        t["RCA.q_proj_pre.weight"] = ([e, e, 1], [e, e]);
        Same("RCA.q_proj_pre.bias", e);
        for (var j = 0; j < c.Taps; j++) Same($"RCA.linear_proj.{j}.weight", e, c.VisionWidth);
        foreach (var m in new[] { "class_mapping", "image_mapping" })
        {
            Same($"{m}.weight", e, e); Same($"{m}.bias", e);
        }
        return t;
    }

    public static HeadWeights Load(IBackend backend, SafeTensorsFile file, HeadConfig config)
    {
        var table = Table(config);
        var problems = new List<string>();
        foreach (var (name, (shape, _)) in table)
        {
            if (!file.Contains(name)) problems.Add($"missing {name} {Text(shape)}");
            else if (!file.Entry(name).Shape.SequenceEqual(shape)) problems.Add($"mis-shaped {name}: {file.Entry(name).ShapeText}, expected {Text(shape)}");
        }
        foreach (var entry in file.Entries)
            if (!table.ContainsKey(entry.Name) && !DeadPrefixes.Any(entry.Name.StartsWith))
                problems.Add($"extra {entry.Name} {entry.ShapeText}");
        if (problems.Count > 0)
            throw new InvalidDataException($"{file.Path}: not a Bayes-PFL head for this config ({problems.Count} problems):\n  " + string.Join("\n  ", problems));

        var loaded = new Dictionary<string, Tensor>();
        float tauPix = 0, tauImg = 0;
        foreach (var (name, (_, shape)) in table)
        {
            var data = file.ReadFloats(name);
            if (name == "temperature_pixel") { tauPix = data[0]; continue; }
            if (name == "temperature_image") { tauImg = data[0]; continue; }
            if (name == "fuse.fuse_modules.weight") data = SplitColumns(data, config.FuseHidden, config.Taps, config.VisionWidth);
            var t = backend.Allocate(new Shape(shape), name);
            backend.Upload(t, data);
            loaded[name] = t;
        }
        return new HeadWeights(config, loaded, tauPix, tauImg);
    }

    /// <summary>w[rows, taps·cols] → [taps, rows, cols]: block j holds the columns that multiply tap j.</summary>
    internal static float[] SplitColumns(float[] w, int rows, int taps, int cols)
    {
        var result = new float[w.Length];
        for (var j = 0; j < taps; j++)
            for (var r = 0; r < rows; r++)
                Array.Copy(w, (long)r * taps * cols + j * cols, result, ((long)j * rows + r) * cols, cols);
        return result;
    }

    /// <summary>The inverse of <see cref="SplitColumns"/>: [taps, rows, cols] → the checkpoint's [rows, taps·cols].</summary>
    internal static float[] JoinColumns(float[] blocks, int rows, int taps, int cols)
    {
        var result = new float[blocks.Length];
        for (var j = 0; j < taps; j++)
            for (var r = 0; r < rows; r++)
                Array.Copy(blocks, ((long)j * rows + r) * cols, result, (long)r * taps * cols + j * cols, cols);
        return result;
    }

    private static string Text(int[] shape) => "[" + string.Join(",", shape) + "]";

    public void Dispose()
    {
        if (!ownsTensors) return;
        foreach (var t in tensors.Values) t.Dispose();
    }
}
