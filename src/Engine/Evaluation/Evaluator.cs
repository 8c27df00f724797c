using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Metrics;
using BayesPfl.Host;

namespace BayesPfl.Engine.Evaluation;

/// <summary>
/// What the detector produced for one category's test images, in sample order: the raw p_img and s_map, the
/// sigma-8 blurred maps [MapSize, MapSize] (spec 8: pixel metrics are computed on the blurred map) and the ground
/// truth masks at the same size, binarised as spec 2 says (bilinear resize, /255, &gt; 0.5; no mask = all normal).
/// Memory: MapSize² floats plus MapSize² bytes per image (about 1.3 MB at 518 px), all held until the category is
/// scored; a category of a few thousand images therefore needs a few GB.
/// </summary>
public sealed record CategoryOutputs(string Category, int MapSize, double[] PImg, double[] SMap, byte[] Labels,
    IReadOnlyList<float[]> Maps, IReadOnlyList<byte[]> Masks);

/// <summary>
/// One category's metrics (spec 10). Image metrics use the fused score 0.5·minmax(p_img) + 0.5·minmax(s_map) over
/// the category (<see cref="ImageScore.Fuse"/>). A metric that is not defined is NaN ("not applicable"):
/// image metrics when the category's test images are all anomalous or all normal (the original code reports 0
/// there; this port does not, so a missing normal set cannot pull the mean down), pixel metrics when there is no
/// anomalous pixel or no normal pixel.
/// </summary>
public sealed record CategoryMetrics(string Category, int Normal, int Anomalous,
    double ImageAuroc, double ImageAp, double ImageF1Max,
    double PixelAuroc, double PixelAp, double PixelF1Max, double Aupro)
{
    public static readonly string[] MetricNames =
        ["image_auroc", "image_ap", "image_f1max", "pixel_auroc", "pixel_ap", "pixel_f1max", "aupro"];

    public double[] Values => [ImageAuroc, ImageAp, ImageF1Max, PixelAuroc, PixelAp, PixelF1Max, Aupro];
}

/// <summary>
/// All categories and their unweighted mean (NaN entries are left out of the mean of that metric), and the backend and
/// precision mode that produced them.
/// </summary>
public sealed record EvaluationReport(string Root, DatasetLayout Layout, string Backend,
    IReadOnlyList<CategoryMetrics> Categories, CategoryMetrics Mean, DetectorPrecision Precision = DetectorPrecision.Fp32)
{
    /// <summary>Where the pixel metrics ran: "cpu" or "cuda" (<see cref="PixelMetrics.Device"/>).</summary>
    public string MetricsDevice { get; init; } = "cpu";
}

/// <summary>Zero-shot evaluation of an <see cref="AnomalyDetector"/> on a dataset's test split (spec 8 and 10).</summary>
public static class Evaluator
{
    /// <summary>Images per detector call.</summary>
    public const int BatchSize = 8;

    public const string MeanName = "mean";

    public static EvaluationReport Run(AnomalyDetector detector, Dataset dataset, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(dataset);
        var rows = new List<CategoryMetrics>();
        var gpu = MetricsGpu(detector);
        foreach (var category in dataset.Categories)
        {
            progress?.Invoke($"{category.Name}: {category.Samples.Count} images");
            rows.Add(Score(Collect(detector, category), gpu));
        }
        return new EvaluationReport(dataset.Root, dataset.Layout, detector.Backend.Name, rows, Mean(rows), detector.Precision)
        {
            MetricsDevice = MetricsDeviceName(gpu),
        };
    }

    /// <summary>The GPU the detector runs on (the pixel metrics then take the device path), or null.</summary>
    public static IGpu? MetricsGpu(AnomalyDetector detector) => (detector ?? throw new ArgumentNullException(nameof(detector))).Backend is CudaBackend c ? c.Gpu : null;

    public static string MetricsDeviceName(IGpu? gpu) => gpu is null ? "cpu" : "cuda";

    /// <summary>Runs the detector on every test image of the category (class name = the category's class name,
    /// which the detector turns into its prompt name) and loads the masks at the map size.</summary>
    public static CategoryOutputs Collect(AnomalyDetector detector, DatasetCategory category)
    {
        var samples = category.Samples;
        int n = samples.Count, size = detector.ImageSize;
        var pImg = new double[n];
        var sMap = new double[n];
        var labels = new byte[n];
        var maps = new float[n][];
        var masks = new byte[n][];
        for (var start = 0; start < n; start += BatchSize)
        {
            var batch = samples.Skip(start).Take(BatchSize).ToArray();
            var results = detector.Detect(batch.Select(s => s.ImagePath).ToArray(), category.ClassName);
            for (var j = 0; j < batch.Length; j++)
            {
                var i = start + j;
                var r = results[j];
                if (r.MapSize != size) throw new InvalidOperationException($"detector map is {r.MapSize} px, expected {size}");
                pImg[i] = r.PImg;
                sMap[i] = r.SMap;
                labels[i] = (byte)(batch[j].IsAnomalous ? 1 : 0);
                maps[i] = r.Blurred;
                masks[i] = LoadMask(batch[j].MaskPath, size);
            }
        }
        return new CategoryOutputs(category.Name, size, pImg, sMap, labels, maps, masks);
    }

    public static byte[] LoadMask(string? path, int size)
    {
        var mask = new byte[size * size];
        if (path is null) return mask;
        var m = ClipPreprocess.LoadMask(path, size);
        for (var i = 0; i < mask.Length; i++) mask[i] = m[i] > 0.5f ? (byte)1 : (byte)0;
        return mask;
    }

    /// <param name="metricsGpu">where the pixel metrics' pass over the maps runs (<see cref="PixelMetrics"/>); null: the CPU</param>
    public static CategoryMetrics Score(CategoryOutputs o, IGpu? metricsGpu = null) => Score(o, metricsGpu, out _);

    /// <param name="pixels">the pixel AUROC/AP/F1 sweep (F1 threshold included), for <see cref="Reports.ThresholdSelection"/>
    /// to reuse instead of sweeping the maps again; null when the category lacks anomalous or normal pixels</param>
    public static CategoryMetrics Score(CategoryOutputs o, IGpu? metricsGpu, out BinaryMetrics? pixels)
    {
        ArgumentNullException.ThrowIfNull(o);
        var anomalous = o.Labels.Count(l => l != 0);
        var normal = o.Labels.Length - anomalous;
        double iAuroc = double.NaN, iAp = double.NaN, iF1 = double.NaN;
        if (anomalous > 0 && normal > 0)
        {
            var fused = ImageScore.Fuse(o.PImg, o.SMap).Select(v => (float)v).ToArray();
            var m = BinaryMetrics.Compute(fused, o.Labels, BinaryMetrics.ImageEps);
            (iAuroc, iAp, iF1) = (m.Auroc, m.AveragePrecision, m.F1Max);
        }
        double pAuroc = double.NaN, pAp = double.NaN, pF1 = double.NaN, pro = double.NaN;
        pixels = null;
        long positives = o.Masks.Sum(m => (long)m.Length - m.AsSpan().Count((byte)0));
        long total = o.Masks.Sum(m => (long)m.Length);
        if (positives > 0 && positives < total)
        {
            var m = PixelMetrics.Compute(o.Maps, o.Masks, o.MapSize, o.MapSize, metricsGpu);
            (pAuroc, pAp, pF1, pro) = (m.Binary.Auroc, m.Binary.AveragePrecision, m.Binary.F1Max, m.Aupro);
            pixels = m.Binary;
        }
        return new CategoryMetrics(o.Category, normal, anomalous, iAuroc, iAp, iF1, pAuroc, pAp, pF1, pro);
    }

    /// <summary>Unweighted mean over categories, per metric over the categories where it is defined.</summary>
    public static CategoryMetrics Mean(IReadOnlyList<CategoryMetrics> rows)
    {
        double M(Func<CategoryMetrics, double> f)
        {
            var v = rows.Select(f).Where(x => !double.IsNaN(x)).ToArray();
            return v.Length == 0 ? double.NaN : v.Average();
        }
        return new CategoryMetrics(MeanName, rows.Sum(r => r.Normal), rows.Sum(r => r.Anomalous),
            M(r => r.ImageAuroc), M(r => r.ImageAp), M(r => r.ImageF1Max),
            M(r => r.PixelAuroc), M(r => r.PixelAp), M(r => r.PixelF1Max), M(r => r.Aupro));
    }
}
