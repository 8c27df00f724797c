using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Engine.Model;

/// <summary>
/// A CLIP engine file's weights, checked against its config and uploaded to one backend: fp32, except that the towers'
/// GEMM weights (in_proj, out_proj, c_fc, c_proj, the two projections) take <see cref="GemmType"/> (BF16 in the bf16
/// precision mode, which halves their memory; embeddings, LayerNorms, biases and the patch conv stay fp32).
/// The check lists every missing, extra, mis-shaped or non-float tensor in one error that names the file,
/// so a wrong checkpoint is diagnosed in one go rather than one tensor per run.
/// </summary>
public sealed class ClipWeights : IDisposable
{
    private readonly List<Tensor> owned;

    private ClipWeights(ClipConfig config, DType gemmType, VisionWeights vision, TextWeights text, List<Tensor> owned)
    {
        Config = config;
        GemmType = gemmType;
        Vision = vision;
        Text = text;
        this.owned = owned;
    }

    public ClipConfig Config { get; }

    /// <summary>Element type of the towers' GEMM weights: F32 (parity with PyTorch) or BF16 (the bf16 precision mode).</summary>
    public DType GemmType { get; }

    public GeluKind Gelu => ClipConfigRules.GeluOf(Config);

    public VisionWeights Vision { get; }

    public TextWeights Text { get; }

    /// <summary>The config stored in the file's metadata (validated).</summary>
    public static ClipConfig ReadConfig(SafeTensorsFile file)
    {
        if (!file.Metadata.TryGetValue(ClipConfig.FormatKey, out var format) || format != ClipConfig.FormatValue)
            throw new InvalidDataException($"{file.Path}: not a CLIP engine file: metadata {ClipConfig.FormatKey} is " +
                $"{(format is null ? "missing" : $"\"{format}\"")}, expected \"{ClipConfig.FormatValue}\"");
        if (!file.Metadata.TryGetValue(ClipConfig.MetadataKey, out var json))
            throw new InvalidDataException($"{file.Path}: metadata has no {ClipConfig.MetadataKey}");
        ClipConfig config;
        try
        {
            config = ClipConfig.FromJson(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{file.Path}: metadata {ClipConfig.MetadataKey} is not a valid CLIP config: {e.Message}", e);
        }
        ClipConfigRules.Validate(config, file.Path);
        return config;
    }

    /// <summary>Throws an <see cref="InvalidDataException"/> listing every tensor that does not match <paramref name="config"/>.</summary>
    public static void Verify(SafeTensorsFile file, ClipConfig config)
    {
        var expected = ClipTensorNames.Expected(config);
        var wanted = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var missing = new List<string>();
        var misShaped = new List<string>();
        foreach (var (name, shape) in expected)
        {
            if (!file.Contains(name))
            {
                missing.Add($"{name} {ShapeText(shape)}");
                continue;
            }
            var e = file.Entry(name);
            if (!e.Shape.AsSpan().SequenceEqual(shape))
                misShaped.Add($"{name}: file {e.ShapeText}, config {ShapeText(shape)}");
            else if (e.DType is not (StDType.F32 or StDType.F16 or StDType.BF16 or StDType.F64))
                misShaped.Add($"{name}: file dtype {e.DType}, expected a floating-point type");
        }
        var extra = file.Entries.Where(e => !wanted.Contains(e.Name)).OrderBy(e => e.Begin).Select(e => $"{e.Name} {e.ShapeText}").ToList();
        if (missing.Count + extra.Count + misShaped.Count == 0) return;

        var lines = new List<string>
        {
            $"{file.Path}: tensors do not match the CLIP config ({ClipConfigRules.Describe(config)}): " +
            $"{missing.Count} missing, {extra.Count} extra, {misShaped.Count} mis-shaped",
        };
        lines.AddRange(missing.Select(m => "  missing    " + m));
        lines.AddRange(extra.Select(x => "  extra      " + x));
        lines.AddRange(misShaped.Select(s => "  mis-shaped " + s));
        throw new InvalidDataException(string.Join('\n', lines));
    }

    /// <summary>
    /// Checks <paramref name="file"/> against <paramref name="config"/> (default: the config in its metadata)
    /// and uploads every tensor to <paramref name="backend"/>, the GEMM weights as <paramref name="gemmType"/> (BF16 rounds
    /// them to nearest even on upload).
    /// </summary>
    public static ClipWeights Load(SafeTensorsFile file, IBackend backend, ClipConfig? config = null, DType gemmType = DType.F32)
    {
        if (config is null) config = ReadConfig(file);
        else ClipConfigRules.Validate(config, "CLIP config given for " + file.Path);
        Verify(file, config);

        var owned = new List<Tensor>();
        try
        {
            var loader = new Loader(file, backend, owned, null, gemmType);
            var vision = new VisionWeights(loader, config);
            var text = new TextWeights(loader, config);
            return new ClipWeights(config, gemmType, vision, text, owned);
        }
        catch
        {
            foreach (var t in owned) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Weights of the config's shapes allocated on <paramref name="backend"/> with nothing uploaded (or zeroed, when
    /// <paramref name="zeroed"/>): for planning memory with a backend that only counts allocations, and for timing
    /// at the real size without a checkpoint (zero weights keep every activation finite). Never for results.
    /// </summary>
    public static ClipWeights Uninitialized(IBackend backend, ClipConfig config, bool zeroed = false, DType gemmType = DType.F32)
    {
        ClipConfigRules.Validate(config, "CLIP config for an uninitialised model");
        var owned = new List<Tensor>();
        var loader = new Loader(null, backend, owned, ClipTensorNames.Expected(config).ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal), gemmType);
        if (zeroed) loader.ZeroFill = true;
        return new ClipWeights(config, gemmType, new VisionWeights(loader, config), new TextWeights(loader, config), owned);
    }

    public void Dispose()
    {
        foreach (var t in owned) t.Dispose();
        owned.Clear();
    }

    private static string ShapeText(int[] shape) => "[" + string.Join(",", shape) + "]";

    /// <summary>
    /// Reads tensors from the (already verified) file onto the backend, keeping track of what it allocated; with no
    /// file, only allocates tensors of the given shapes (<see cref="Uninitialized"/>). Plain tensors are F32; GEMM weights
    /// (<see cref="GetGemm"/>, <see cref="GetTransposed"/>) take the GEMM type.
    /// </summary>
    internal sealed class Loader
    {
        private readonly SafeTensorsFile? file;
        private readonly IBackend backend;
        private readonly List<Tensor> owned;
        private readonly IReadOnlyDictionary<string, int[]>? shapes;
        private readonly DType gemmType;

        public Loader(SafeTensorsFile? file, IBackend backend, List<Tensor> owned, IReadOnlyDictionary<string, int[]>? shapes, DType gemmType)
        {
            if (gemmType is not (DType.F32 or DType.BF16))
                throw new ArgumentOutOfRangeException(nameof(gemmType), gemmType, "CLIP GEMM weights are F32 or BF16");
            (this.file, this.backend, this.owned, this.shapes, this.gemmType) = (file, backend, owned, shapes, gemmType);
        }

        /// <summary>Without a file: zero each tensor instead of leaving it unset.</summary>
        public bool ZeroFill { get; set; }

        public Tensor Get(string name) => Get(name, DType.F32);

        /// <summary>A weight that only ever feeds Linear as its w: stored as the GEMM type.</summary>
        public Tensor GetGemm(string name) => Get(name, gemmType);

        /// <summary>
        /// A [K,N] matrix used as x @ m, stored transposed as [N,K] so that it fits Linear's w[N,K] layout (a GEMM
        /// weight: the GEMM type).
        /// </summary>
        public Tensor GetTransposed(string name)
        {
            if (file is null) return Put(name + "^T", [shapes![name][1], shapes[name][0]], null, gemmType);
            var e = file.Entry(name);
            int k = e.Shape[0], n = e.Shape[1];
            var src = file.ReadFloats(name);
            var dst = new float[src.Length];
            for (var i = 0; i < k; i++)
                for (var j = 0; j < n; j++)
                    dst[(long)j * k + i] = src[(long)i * n + j];
            return Put(name + "^T", [n, k], dst, gemmType);
        }

        private Tensor Get(string name, DType dtype) =>
            file is null ? Put(name, shapes![name], null, dtype) : Put(name, file.Entry(name).Shape, file.ReadFloats(name), dtype);

        private Tensor Put(string name, int[] shape, float[]? data, DType dtype)
        {
            var t = backend.Allocate(new Shape(shape), name, dtype);
            owned.Add(t);
            if (data is not null) backend.Upload(t, data);
            else if (ZeroFill) backend.Zero(t);
            return t;
        }
    }
}
