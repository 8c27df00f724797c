using System.Diagnostics;
using System.Globalization;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Metrics;
using BayesPfl.Host;

namespace BayesPfl.Bench;

/// <summary>
/// One timed pass of each pixel metric over a synthetic category, and a baseline measured in the same run:
/// single-threaded AUROC by Array.Sort of all (score, label) pairs, the obvious implementation.
/// Options: --images N (1725), --side S (518), --blur-images N (64), --no-baseline, --device cpu|cuda (cpu).
/// --device cuda times <see cref="PixelMetrics"/> on the GPU and on the CPU in the same run (the same metrics:
/// AUROC, AP, F1-max, both AUPRO variants), prints the ratio and whether the numbers agree, then goes on as cpu; exit 1 when they disagree.
/// </summary>
public static class MetricsQuick
{
    public static int Run(string[] args)
    {
        int images = Option(args, "--images", 1725), side = Option(args, "--side", 518), blurImages = Option(args, "--blur-images", 64);
        var baseline = !args.Contains("--no-baseline");
        var device = Text(args, "--device", "cpu");
        if (device is not ("cpu" or "cuda")) { Console.Error.WriteLine($"metrics-quick: --device is '{device}', must be cpu or cuda"); return 2; }
        if (device == "cuda" && !Cuda.IsAvailable) { Console.Error.WriteLine($"metrics-quick: --device cuda: no CUDA device ({Cuda.UnavailableReason})"); return 2; }
        Console.WriteLine($"metrics-quick: {images} maps of {side}x{side}, {Environment.ProcessorCount} cores");

        var data = Time("generate synthetic category", () => new SyntheticCategory(images, side));
        var positives = data.Masks.Sum(m => m.LongCount(v => v != 0));
        Console.WriteLine($"  {data.Pixels:N0} pixels, {100.0 * positives / data.Pixels:F2}% anomalous");
        var agree = device != "cuda" || CompareDevices(data, side, positives);

        var m = Time("pixel AUROC + AP + F1-max (one sweep)", () => BinaryMetrics.Compute(data.Maps, data.Masks));
        var sweep = LastSeconds;
        Console.WriteLine($"  AUROC {m.Auroc:F6}  AP {m.AveragePrecision:F6}  F1 {m.F1Max:F6} @ {m.F1Threshold}");
        var pro = Time("AUPRO, MVTec definition", () => Aupro.Mvtec(data.Maps, data.Masks, side, side));
        Console.WriteLine($"  AUPRO {pro:F6}");
        var spec = Time("AUPRO, spec §10 variant (200 thresholds)", () => Aupro.SpecVariant(data.Maps, data.Masks, side, side));
        Console.WriteLine($"  AUPRO(spec) {spec:F6}");
        var few = data.Maps.Take(Math.Min(blurImages, images)).ToArray();
        Time($"Gaussian blur sigma 8 of {few.Length} maps", () => GaussianBlur.Apply(few, side, side));
        Console.WriteLine($"  {1000 * LastSeconds / Math.Max(1, few.Length):F2} ms per map");
        Time($"top-k mean k=2000 of {images} maps", () => TopKMean.Compute(data.Maps, 2000));

        if (baseline)
        {
            var auc = Time("baseline: Array.Sort single-threaded AUROC", () => SortAuroc(data));
            Console.WriteLine($"  baseline AUROC {auc:F6} (|diff| {Math.Abs(auc - m.Auroc):E1}); sweep is {LastSeconds / sweep:F1}x faster");
        }
        return agree ? 0 : 1;
    }

    /// <summary>The one-call pixel metrics on the GPU and on the CPU; returns whether they agree (AUROC, F1 and the
    /// spec AUPRO exactly, AP and the MVTec AUPRO within PixelMetrics.SummationTolerance: only the float64
    /// summation order differs).</summary>
    private static bool CompareDevices(SyntheticCategory data, int side, long positives)
    {
        using var gpu = new CudaGpu(EngineKernels.Sources);
        Console.WriteLine($"  device: {gpu.Description}");
        Time("GPU path warm-up (kernel compile, first launch)", () => PixelMetrics.Compute(data.Maps.Take(1).ToArray(), data.Masks.Take(1).ToArray(), side, side, gpu));
        var onGpu = Time("pixel metrics, GPU path (one device pass: AUROC, AP, F1, both AUPROs)", () => PixelMetrics.Compute(data.Maps, data.Masks, side, side, gpu, specAupro: true));
        var gpuSeconds = LastSeconds;
        var onCpu = Time("pixel metrics, CPU path (the same metrics)", () => PixelMetrics.Compute(data.Maps, data.Masks, side, side, specAupro: true));
        var tol = PixelMetrics.SummationTolerance(positives);
        bool Near(double a, double b) => a == b || (double.IsNaN(a) && double.IsNaN(b)) || Math.Abs(a - b) <= tol * Math.Abs(a);
        var (g, c) = (onGpu.Binary, onCpu.Binary);
        var agree = g.Auroc.Equals(c.Auroc) && g.F1Max.Equals(c.F1Max) && g.F1Threshold.Equals(c.F1Threshold) && onGpu.AuproSpec.Equals(onCpu.AuproSpec)
                    && Near(c.AveragePrecision, g.AveragePrecision) && Near(onCpu.Aupro, onGpu.Aupro);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  GPU path {LastSeconds / gpuSeconds:F1}x faster than the CPU path; numbers {(agree ? "agree" : "DIFFER")}: " +
            $"AUROC {g.Auroc:R}/{c.Auroc:R} AP {g.AveragePrecision:R}/{c.AveragePrecision:R} F1 {g.F1Max:R}/{c.F1Max:R} " +
            $"AUPRO {onGpu.Aupro:R}/{onCpu.Aupro:R} spec {onGpu.AuproSpec:R}/{onCpu.AuproSpec:R}"));
        return agree;
    }

    /// <summary>Sorts copies of all scores with their labels, then one pass with ties grouped.</summary>
    public static double SortAuroc(SyntheticCategory data)
    {
        var keys = new float[data.Pixels];
        var labels = new byte[data.Pixels];
        long o = 0;
        for (var i = 0; i < data.Maps.Length; i++)
        {
            data.Maps[i].CopyTo(keys, o);
            data.Masks[i].CopyTo(labels, o);
            o += data.Maps[i].Length;
        }
        Array.Sort(keys, labels);
        long tp = 0, fp = 0, p = labels.LongCount(v => v != 0), n = labels.LongLength - p;
        double area = 0;
        for (var i = keys.LongLength - 1; i >= 0;)
        {
            long tp0 = tp, fp0 = fp;
            var v = keys[i];
            for (; i >= 0 && keys[i] == v; i--) { if (labels[i] != 0) tp++; else fp++; }
            area += (fp - fp0) * (double)(tp + tp0);
        }
        return area / (2.0 * p * n);
    }

    private static double LastSeconds;

    private static T Time<T>(string what, Func<T> f)
    {
        // CPU time too: on a shared machine the wall clock also measures the neighbours.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var r = f();
        LastSeconds = sw.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {LastSeconds:F3} s wall, {cpuSeconds:F3} s CPU"));
        return r;
    }

    private static string Text(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
