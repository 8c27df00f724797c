using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Metrics;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Text;
using BayesPfl.Engine.Weights;
using BayesPfl.Host;

namespace BayesPfl.Engine.Detection;

/// <summary>
/// Zero-shot anomaly detection with Bayes-PFL (spec 0, 15) from two engine files: the CLIP file written by
/// `bayespfl convert` (towers + config) and the head file (the Bayes-PFL checkpoint's head tensors under their
/// checkpoint names, see HeadConverter). Per image: preprocess → image tower (g and the taps) → flow samples
/// and prompt blocks → text tower on the spliced prompts → L2-normalise → head scores → post-processing (spec 8).
/// The image-agnostic samples are drawn at the first image and cached until <see cref="ResetSampleCache"/>
/// (spec 5.5); every image draws its own context samples, in input order, so a batch of n gives the same
/// results as n single calls. Not thread-safe: one Detect at a time per instance (the backend, the head's
/// buffers and the sample cache are shared state); use one detector per thread.
/// </summary>
public sealed class AnomalyDetector : IDisposable
{
    private readonly IBackend backend;
    private readonly ClipWeights clip;
    private readonly HeadWeights headWeights;
    private readonly VisionTower vision;
    private readonly TextTower text;
    private readonly BayesHead head;
    private readonly DetectorOptions options;
    private readonly int[] tapLayers;
    private readonly bool ownsWeights;

    private AnomalyDetector(IBackend backend, ClipWeights clip, HeadWeights headWeights, DetectorOptions options, bool ownsWeights = true)
    {
        this.ownsWeights = ownsWeights;
        this.backend = backend;
        this.clip = clip;
        this.headWeights = headWeights;
        this.options = options;
        vision = new VisionTower(backend, clip);
        text = new TextTower(backend, clip);
        head = new BayesHead(backend, headWeights, options.Samples, options.Seed);
        tapLayers = HeadFile.TapLayers(clip.Config.Vision.Layers, headWeights.Config.Taps);
    }

    public IBackend Backend => backend;

    public ClipConfig ClipConfig => clip.Config;

    public HeadConfig HeadConfig => headWeights.Config;

    /// <summary>The numeric mode the CLIP towers run in (from the loaded weights' GEMM type).</summary>
    public DetectorPrecision Precision => clip.GemmType == DType.BF16 ? DetectorPrecision.Bf16 : DetectorPrecision.Fp32;

    /// <summary>The 1-based vision layers fed to the head (6, 12, 18, 24 for ViT-L/14).</summary>
    public IReadOnlyList<int> TapLayers => tapLayers;

    /// <summary>Side of the square input and of the anomaly maps.</summary>
    public int ImageSize => clip.Config.Vision.ImageSize;

    /// <summary>Loads both files onto the backend <see cref="DetectorOptions.Device"/> picks.</summary>
    public static AnomalyDetector Load(string clipPath, string headPath, DetectorOptions? options = null)
    {
        options ??= new DetectorOptions();
        var backend = DeviceBackends.Open(options.Device);
        try
        {
            return Create(backend, clipPath, headPath, options);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>As <see cref="Load"/> on a given backend, which the detector then owns and disposes.</summary>
    public static AnomalyDetector Create(IBackend backend, string clipPath, string headPath, DetectorOptions? options = null)
    {
        options ??= new DetectorOptions();
        if (options.Samples <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.Samples, "DetectorOptions.Samples must be positive");
        if (options.TopK is <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.TopK, "DetectorOptions.TopK must be positive");
        using var clipFile = SafeTensorsFile.Open(clipPath);
        using var headFile = SafeTensorsFile.Open(headPath);
        var clipConfig = ClipWeights.ReadConfig(clipFile);
        var headConfig = HeadFile.InferConfig(headFile);
        HeadFile.CheckAgainst(headConfig, clipConfig, headPath, clipPath);
        var clip = ClipWeights.Load(clipFile, backend, clipConfig, GemmTypeOf(options.Precision));
        try
        {
            var headWeights = HeadWeights.Load(backend, headFile, headConfig);
            return new AnomalyDetector(backend, clip, headWeights, options);
        }
        catch
        {
            clip.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A detector over weights already on <paramref name="backend"/> (training's validation: the frozen CLIP and a
    /// view of the parameters being trained), loading no file. It owns none of them: disposing it frees only its
    /// own buffers. <see cref="DetectorOptions.Device"/> is ignored; the precision is the weights' own.
    /// </summary>
    public static AnomalyDetector Over(IBackend backend, ClipWeights clip, HeadWeights headWeights, DetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(clip);
        ArgumentNullException.ThrowIfNull(headWeights);
        if (options.Samples <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.Samples, "DetectorOptions.Samples must be positive");
        HeadFile.CheckAgainst(headWeights.Config, clip.Config, "(head parameters)", "(CLIP weights)");
        return new AnomalyDetector(backend, clip, headWeights, options, ownsWeights: false);
    }

    /// <summary>The towers' GEMM weight type that a precision mode loads (the head is fp32 in both).</summary>
    public static DType GemmTypeOf(DetectorPrecision precision) => precision switch
    {
        DetectorPrecision.Fp32 => DType.F32,
        DetectorPrecision.Bf16 => DType.BF16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "DetectorOptions.Precision is Fp32 or Bf16"),
    };

    /// <summary>Forget the cached image-agnostic samples; the next image draws new ones (spec 5.5).</summary>
    public void ResetSampleCache() => head.Sampler.Reset();

    public AnomalyResult Detect(string imagePath, string className) => Detect([imagePath], className)[0];

    /// <summary>Decodes the files and runs <see cref="Detect(IReadOnlyList{Image8}, string)"/> on them.</summary>
    public IReadOnlyList<AnomalyResult> Detect(IReadOnlyList<string> paths, string className)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return Detect(paths.Select(ImageFile.LoadRgb).ToArray(), className);
    }

    /// <summary>
    /// Runs decoded images (the C ABI's pixels, or files) through the image tower as one batch and the head image by
    /// image, in order, then post-processes each map (top-k score, blur, resize to the image); a result's Path is its
    /// image's <see cref="Image8.Source"/>.
    /// </summary>
    public IReadOnlyList<AnomalyResult> Detect(IReadOnlyList<Image8> images, string className)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return [];
        var raw = Run(images, className);
        var k = options.TopK ?? TopKMean.DefaultK(className);
        var s = ImageSize;
        var results = new AnomalyResult[images.Count];
        for (var i = 0; i < images.Count; i++)
        {
            var (pImg, map) = raw[i];
            var blurred = new float[map.Length];
            GaussianBlur.Apply(map, blurred, s, s);
            var img = images[i];
            results[i] = new AnomalyResult(img.Source, pImg, TopKMean.Compute(map, k), Math.Min(k, map.Length), s, map, blurred,
                img.Width, img.Height, MapResize.Bilinear(blurred, s, s, img.Height, img.Width));
        }
        return results;
    }

    /// <summary>p_img and the unsmoothed map of each decoded image.</summary>
    public IReadOnlyList<(double PImg, float[] Map)> Run(IReadOnlyList<Image8> images, string className)
    {
        int s = ImageSize, n = images.Count, pixels = 3 * s * s;
        var host = new float[(long)n * pixels];
        Parallel.For(0, n, i => ClipPreprocess.Preprocess(images[i], s).CopyTo(host, (long)i * pixels));
        return Run(host, ClipTokenizer.Default.Tokenize(ClassNames.Prompt(className), clip.Config.Text.ContextLength));
    }

    /// <summary>
    /// As above on already preprocessed images host[n,3,S,S] and the tokenised "X name" prompt ids[ContextLength]
    /// (validation runs the model on the inputs a reference dump stores).
    /// </summary>
    public IReadOnlyList<(double PImg, float[] Map)> Run(float[] host, int[] ids)
    {
        int s = ImageSize, pixels = 3 * s * s;
        if (host.Length == 0 || host.Length % pixels != 0)
            throw new ArgumentException($"AnomalyDetector.Run: got {host.Length} pixel values, expected n x 3 x {s} x {s}", nameof(host));
        var n = host.Length / pixels;
        using var input = backend.Allocate(new Shape(n, 3, s, s), "detector.images");
        backend.Upload(input, host);
        using var features = vision.Encode(input, tapLayers);
        int e = clip.Config.EmbedDim, p = clip.Config.Vision.Grid * clip.Config.Vision.Grid, cv = clip.Config.Vision.Width;
        var results = new (double, float[])[n];
        using var pImg = backend.Allocate(new Shape(1, 1), "detector.p_img");
        using var map = backend.Allocate(new Shape(s, s), "detector.map");
        for (var i = 0; i < n; i++)
        {
            var g = features.Global.View((long)i * e, new Shape(1, e), "detector.g");
            var taps = features.Taps.Select((t, j) => t.View((long)i * p * cv, new Shape(p, cv), $"detector.tap{tapLayers[j]}")).ToArray();
            Inspect(i, "g", g);
            for (var j = 0; j < taps.Length; j++) Inspect(i, $"tap{tapLayers[j]}", taps[j]);
            using (var blocks = Prompts(g))
            using (var embeddings = text.EncodeSpliced(ids, blocks))
            using (var norms = backend.Allocate(new Shape(embeddings.Shape[0]), "detector.text_norms"))
            {
                backend.L2Normalize(embeddings, norms, embeddings);
                Inspect(i, "prompt_blocks", blocks);
                Inspect(i, "text", embeddings);
                head.Score(pImg, map, g, taps, embeddings);
            }
            var pHost = new float[1];
            var mapHost = new float[s * s];
            backend.Download(pImg, pHost);
            backend.Download(map, mapHost);
            results[i] = (pHost[0], mapHost);
        }
        return results;
    }

    private void Inspect(int image, string stage, Tensor t) => options.Inspect?.Invoke(image, stage, t);

    private Tensor Prompts(Tensor g)
    {
        if (options.NoiseSource is null) return head.Prompts(g);
        var wanted = 3 * options.Samples * headWeights.Config.Embed;
        var noise = options.NoiseSource(wanted);
        if (noise.Length != wanted) throw new InvalidOperationException($"DetectorOptions.NoiseSource returned {noise.Length} values, expected {wanted}");
        return head.Prompts(g, noise);
    }

    public void Dispose()
    {
        head.Dispose();
        text.Dispose();
        vision.Dispose();
        if (!ownsWeights) return;
        headWeights.Dispose();
        clip.Dispose();
        backend.Dispose();
    }
}
