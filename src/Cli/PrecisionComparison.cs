using System.Globalization;
using BayesPfl.Engine.Detection;

namespace BayesPfl.Cli;

/// <summary>
/// The bench's fp32-against-bf16 lines: per backend that ran both precisions on the same inputs and flow samples, bf16's
/// time over fp32's (below 1 is a speed-up) and the largest |Δ| of the unsmoothed anomaly maps and of p_img.
/// </summary>
internal static class PrecisionComparison
{
    public static void Print(IReadOnlyList<BenchCommand.Timing> rows)
    {
        foreach (var backend in rows.Select(r => r.Backend).Distinct())
        {
            var fp32 = rows.FirstOrDefault(r => r.Backend == backend && r.Precision == DetectorPrecision.Fp32);
            var bf16 = rows.FirstOrDefault(r => r.Backend == backend && r.Precision == DetectorPrecision.Bf16);
            if (fp32 is null || bf16 is null) continue;
            var (map, pImg) = MaxDifferences(fp32, bf16);
            Console.WriteLine($"{backend}: bf16/fp32 time {R(bf16.Total / fp32.Total, "F3")} (vision {R(bf16.Vision / fp32.Vision, "F3")}), " +
                              $"max |Δ anomaly map| {R(map, "E2")}, max |Δ p_img| {R(pImg, "E2")} over {fp32.Images} images");
        }
    }

    /// <summary>Largest |Δ| over every image of the map values and of p_img.</summary>
    public static (double Map, double PImg) MaxDifferences(BenchCommand.Timing a, BenchCommand.Timing b)
    {
        double map = 0, pImg = 0;
        for (var i = 0; i < a.Outputs.Count; i++)
        {
            pImg = Math.Max(pImg, Math.Abs(a.Outputs[i].PImg - b.Outputs[i].PImg));
            var (x, y) = (a.Outputs[i].Map, b.Outputs[i].Map);
            for (var j = 0; j < x.Length; j++) map = Math.Max(map, Math.Abs(x[j] - y[j]));
        }
        return (map, pImg);
    }

    private static string R(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}
