using BayesPfl.Engine.Metrics;
using BenchmarkDotNet.Attributes;

namespace BayesPfl.Bench;

/// <summary>
/// Pixel metrics over a synthetic category (default: the real evaluation size, 1,725 maps of 518x518 with
/// sparse masks). One launch, few iterations: each call reads ~2 GB of maps.
/// Run: dotnet run -c Release --project bench/BayesPfl.Bench -- --filter '*MetricsBenchmarks*'
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private SyntheticCategory data = null!;

    [Params(1725)]
    public int Images { get; set; }

    [Params(518)]
    public int Side { get; set; }

    [GlobalSetup]
    public void Setup() => data = new SyntheticCategory(Images, Side);

    [Benchmark(Description = "AUROC+AP+F1 sweep")]
    public BinaryMetrics Curve() => BinaryMetrics.Compute(data.Maps, data.Masks);

    [Benchmark(Description = "AUPRO MVTec")]
    public double AuproMvtec() => Aupro.Mvtec(data.Maps, data.Masks, Side, Side);

    [Benchmark(Description = "AUPRO spec variant")]
    public double AuproSpec() => Aupro.SpecVariant(data.Maps, data.Masks, Side, Side);

    [Benchmark(Baseline = true, Description = "Array.Sort AUROC (1 thread)")]
    public double SortBaseline() => MetricsQuick.SortAuroc(data);
}
