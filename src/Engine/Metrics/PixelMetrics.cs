using BayesPfl.Engine.Metrics.Device;
using BayesPfl.Host;

namespace BayesPfl.Engine.Metrics;

/// <summary>
/// The pixel metrics of one category in one call, on the CPU (<see cref="BinaryMetrics"/>, <see cref="Metrics.Aupro"/>)
/// or with a GPU (<see cref="RankedSweep"/>: one device pass over the maps ranks the normal pixels among the
/// distinct anomalous scores). Both give the same numbers: AUROC, F1-max, its threshold, IoU and the spec AUPRO
/// bit for bit (integer counts at the same thresholds), AP and the MVTec AUPRO up to the float64 summation order
/// (<see cref="SummationTolerance"/>).
/// </summary>
/// <param name="Binary">pixel AUROC, AP, F1-max (eps <see cref="BinaryMetrics.PixelEps"/>)</param>
/// <param name="Aupro">AUPRO, MVTec definition (<see cref="Metrics.Aupro.Mvtec"/>, FPR limit 0.3)</param>
/// <param name="AuproSpec">the spec §10 AUPRO variant when asked for, else NaN</param>
/// <param name="Device">"cpu" or "cuda": where the pass over the maps ran</param>
public sealed record PixelMetrics(BinaryMetrics Binary, double Aupro, double AuproSpec, string Device)
{
    /// <summary>
    /// The relative difference AP and the MVTec AUPRO may show between the two paths. Both are running float64
    /// sums of positive terms, at most <paramref name="anomalousPixels"/> of them, added in another association
    /// (AP over the thresholds; AUPRO over the region weights, then over the curve's steps), and such a sum of n
    /// terms is within n·2^-53 relative of the exact one: twice per path, two paths; 1e-12 on top covers the last
    /// few operations. Measured: 8e-13 on AUPRO at 64 maps of 518² with 0.45 M anomalous pixels, ~1e-15 at test
    /// sizes; a one-threshold slip moves AUPRO by about 1 / (normal pixels), far more.
    /// </summary>
    public static double SummationTolerance(long anomalousPixels) => 1e-12 + 4.0 * anomalousPixels * Math.ScaleB(1.0, -53);

    /// <summary>All maps and masks are height x width, paired one to one.</summary>
    /// <param name="gpu">null: the CPU sweeps; else the device pass on this GPU (the host side still uses the CPU threads)</param>
    /// <param name="specAupro">also compute <see cref="Metrics.Aupro.SpecVariant"/></param>
    /// <param name="options">CPU threads (both paths) and the CPU sweep's memory budget</param>
    /// <param name="chunkScores">scores per device launch (<see cref="DeviceRankCounter.DefaultChunkScores"/>)</param>
    public static PixelMetrics Compute(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int height, int width,
        IGpu? gpu = null, bool specAupro = false, SweepOptions? options = null, long chunkScores = DeviceRankCounter.DefaultChunkScores)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentNullException.ThrowIfNull(masks);
        var opt = options ?? SweepOptions.Default;
        if (gpu is not null)
            return RankedSweep.Compute(maps, masks, height, width, new DeviceRankCounter(gpu, chunkScores), specAupro, opt);
        var binary = BinaryMetrics.Compute(maps, masks, BinaryMetrics.PixelEps, opt);
        var pro = Metrics.Aupro.Mvtec(maps, masks, height, width, options: opt);
        var spec = specAupro ? Metrics.Aupro.SpecVariant(maps, masks, height, width, options: opt) : double.NaN;
        return new PixelMetrics(binary, pro, spec, "cpu");
    }
}
