using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;
using BayesPfl.Engine.Weights.Convert;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The trainable head: every tensor of <see cref="HeadWeights.Table"/> under its checkpoint name in the engine
/// shape, the two temperatures as [1] tensors (log scale), and one gradient buffer per tensor (same shape,
/// ACCUMULATED by the backward passes, cleared by <see cref="ZeroGrads"/>). The decoders and p_mu of the
/// reference are dead weights (spec 5.6) and are not kept. <see cref="AsWeights"/> gives the inference classes
/// a view of the same buffers, so validation runs on exactly what the optimiser holds.
/// </summary>
public sealed class HeadParameters : IDisposable
{
    public const string TauPixelName = "temperature_pixel", TauImageName = "temperature_image";

    private readonly Dictionary<string, Tensor> values;
    private readonly Dictionary<string, Tensor> grads;

    private HeadParameters(IBackend backend, HeadConfig config, Dictionary<string, Tensor> values)
    {
        Backend = backend;
        Config = config;
        this.values = values;
        grads = values.ToDictionary(kv => kv.Key, kv => backend.Allocate(kv.Value.Shape, kv.Key + ".grad"), StringComparer.Ordinal);
        ZeroGrads();
    }

    public IBackend Backend { get; }

    public HeadConfig Config { get; }

    /// <summary>Parameter names in <see cref="HeadWeights.Table"/> order (a fixed order: checkpoints and Adam rely on it).</summary>
    public IReadOnlyList<string> Names => [.. values.Keys];

    public Tensor this[string name] =>
        values.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"head parameters have no tensor '{name}'");

    public Tensor Grad(string name) =>
        grads.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"head parameters have no gradient '{name}'");

    public void ZeroGrads()
    {
        foreach (var g in grads.Values) Backend.Zero(g);
    }

    /// <summary>temperature_pixel and temperature_image read back from their tensors (one small download each).</summary>
    public (float Pixel, float Image) Temperatures() => (Scalar(TauPixelName), Scalar(TauImageName));

    /// <summary>
    /// A non-owning <see cref="HeadWeights"/> over these buffers for the inference classes (BayesHead, Rca,
    /// branches); <paramref name="stage2"/> picks the image branch (spec 7.1). Temperatures are copied at
    /// the call: take a new view after an optimiser step.
    /// </summary>
    public HeadWeights AsWeights(bool stage2)
    {
        var (pix, img) = Temperatures();
        return HeadWeights.View(Config with { Stage2 = stage2 }, values.Where(kv => kv.Key is not (TauPixelName or TauImageName))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), pix, img);
    }

    /// <summary>Initialisation of spec 9.4, deterministic in <paramref name="seed"/>.</summary>
    public static HeadParameters Initialize(IBackend backend, HeadConfig config, ulong seed)
    {
        var normal = new GaussianNoise(seed);
        // PyTorch's Conv1d default (kaiming_uniform a=√5) is U(±1/√fan_in) for weight and bias alike.
        var uniform = new Random(unchecked((int)seed ^ 0x5eed));
        var host = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, (_, shape)) in HeadWeights.Table(config))
        {
            var n = shape.Aggregate(1, (a, b) => a * b);
            var data = new float[n];
            var bound = 1 / Math.Sqrt(config.Embed);
            if (name is TauPixelName or TauImageName) Array.Fill(data, (float)Math.Log(1 / 0.07));
            else if (name.StartsWith("prompt_", StringComparison.Ordinal))
            {
                var mean = name.EndsWith("_normal", StringComparison.Ordinal) ? 0.5 : name.EndsWith("_abnormal", StringComparison.Ordinal) ? -0.5 : 0.0;
                for (var i = 0; i < n; i++) data[i] = (float)Math.Clamp(mean + 0.02 * normal.Next(), -2, 2);
            }
            else if (name.StartsWith("RCA.q_proj_pre.", StringComparison.Ordinal))
                for (var i = 0; i < n; i++) data[i] = (float)((2 * uniform.NextDouble() - 1) * bound);
            else if (IsStateFlowTensor(name))
                for (var i = 0; i < n; i++) data[i] = (float)normal.Next();
            else if (name.EndsWith(".weight", StringComparison.Ordinal))
                for (var i = 0; i < n; i++) data[i] = (float)(0.02 * normal.Next());
            // Remaining: Linear biases, zero.
            host[name] = data;
        }
        return FromHost(backend, config, host);
    }

    /// <summary>Loads a head engine file (as written by <see cref="SaveHeadFile"/> or `bayespfl convert`).</summary>
    public static HeadParameters Load(IBackend backend, SafeTensorsFile file)
    {
        var config = HeadFile.InferConfig(file);
        using var cpu = new Backends.Cpu.CpuBackend();
        using var weights = HeadWeights.Load(cpu, file, config);
        var host = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, _) in HeadWeights.Table(config))
            host[name] = name switch
            {
                TauPixelName => [weights.TauPixel],
                TauImageName => [weights.TauImage],
                _ => Download(weights[name]),
            };
        return FromHost(backend, config, host);
    }

    /// <summary>Host copies of every parameter (checkpoints) and their restore.</summary>
    public Dictionary<string, float[]> ToHost() => values.ToDictionary(kv => kv.Key, kv => Download(kv.Value), StringComparer.Ordinal);

    public void FromHost(IReadOnlyDictionary<string, float[]> host)
    {
        foreach (var (name, t) in values)
        {
            if (!host.TryGetValue(name, out var data)) throw new InvalidDataException($"head parameters: no values for '{name}'");
            if (data.Length != t.Length) throw new InvalidDataException($"head parameters: '{name}' has {data.Length} values, expected {t.Length} {t.Shape}");
            Backend.Upload(t, data);
        }
    }

    /// <summary>
    /// Writes a head engine file that `bayespfl infer`/`eval` load: checkpoint names and file shapes, the stage in
    /// the metadata (<see cref="HeadFile.StageKey"/>) and, when given, the CLIP file it was trained with, relative to
    /// the head's folder (<see cref="HeadFile.ClipKey"/>, so `--model HEAD` alone finds it); atomic.
    /// </summary>
    public void SaveHeadFile(string path, TrainingStage stage, string? clipPath = null)
    {
        var writer = new SafeTensorsWriter().Metadata(Model.ClipConfig.FormatKey, HeadConverter.FormatValue)
            .Metadata(HeadFile.StageKey, stage == TrainingStage.One ? "1" : "2");
        if (clipPath is not null)
            writer.Metadata(HeadFile.ClipKey, Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFullPath(clipPath)));
        foreach (var (name, (fileShape, _)) in HeadWeights.Table(Config))
        {
            var data = Download(values[name]);
            if (name == "fuse.fuse_modules.weight") data = HeadWeights.JoinColumns(data, Config.FuseHidden, Config.Taps, Config.VisionWidth);
            writer.Add(name, data, fileShape);
        }
        writer.Save(path);
    }

    private static HeadParameters FromHost(IBackend backend, HeadConfig config, Dictionary<string, float[]> host)
    {
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, (_, shape)) in HeadWeights.Table(config))
        {
            var t = backend.Allocate(shape.Length == 0 ? new Shape(1) : new Shape(shape), name);
            backend.Upload(t, host[name]);
            values[name] = t;
        }
        return new HeadParameters(backend, config, values);
    }

    /// <summary>The image-agnostic flows' own tensors, initialised N(0,1) in the reference.</summary>
    private static bool IsStateFlowTensor(string name) =>
        (name.StartsWith("PFL_normal.", StringComparison.Ordinal) || name.StartsWith("PFL_abnormal.", StringComparison.Ordinal))
        && name.Split('.')[1] is "state" or "amor_u" or "amor_w" or "amor_b";

    private float Scalar(string name)
    {
        var one = new float[1];
        Backend.Download(values[name], one);
        return one[0];
    }

    private static float[] Download(Tensor t)
    {
        var data = new float[t.Length];
        t.Backend.Download(t, data);
        return data;
    }

    public void Dispose()
    {
        foreach (var t in values.Values.Concat(grads.Values)) t.Dispose();
    }
}
