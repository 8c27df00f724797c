namespace BayesPfl.Engine.Metrics;

/// <summary>
/// The sweep fold behind <see cref="Aupro.Mvtec"/>: each anomalous pixel weighs 1/(its region's size), so
/// the weight above a threshold divided by the region count is PRO; FPR = fp / normal pixels. Integrates the
/// piecewise-linear curve from (0,0) up to FPR = limit, interpolating the segment that crosses the limit
/// (MVTec's trapezoid with x_max). PRO is clipped to 1 as MVTec clips it (rounding can overshoot).
/// </summary>
internal struct ProAccumulator(long normalPixels, int regions, double limit) : ISweepAccumulator<ProAccumulator>
{
    private double prevFpr, prevPro;

    public double Area { get; private set; }

    public readonly ProAccumulator Start(long fp, long tp, double w) =>
        new(normalPixels, regions, limit) { prevFpr = (double)fp / normalPixels, prevPro = Math.Min(w / regions, 1.0) };

    public void Add(float threshold, long fp, long tp, double w)
    {
        var fpr = (double)fp / normalPixels;
        var pro = Math.Min(w / regions, 1.0);
        if (prevFpr < limit)
        {
            if (fpr <= limit)
                Area += 0.5 * (pro + prevPro) * (fpr - prevFpr);
            else
            {
                var atLimit = prevPro + (pro - prevPro) * (limit - prevFpr) / (fpr - prevFpr);
                Area += 0.5 * (atLimit + prevPro) * (limit - prevFpr);
            }
        }
        prevFpr = fpr;
        prevPro = pro;
    }

    public readonly ProAccumulator Then(in ProAccumulator lower)
    {
        var r = this;
        r.Area += lower.Area;
        return r;
    }
}

/// <summary>The ground-truth regions of a set of masks, in the form the PRO sweeps consume.</summary>
/// <param name="Count">regions over all masks</param>
/// <param name="NormalPixels">zero pixels over all masks</param>
/// <param name="PositiveIds">per mask, the global region id of each anomalous pixel in raster order</param>
/// <param name="InverseSizes">per global region id, 1 / its pixel count</param>
internal sealed record Regions(int Count, long NormalPixels, int[]?[] PositiveIds, double[] InverseSizes)
{
    public static Regions Find(IReadOnlyList<byte[]> masks, int height, int width, SweepOptions options)
    {
        var ids = new int[]?[masks.Count];
        var sizes = new long[masks.Count][];
        var normal = new long[masks.Count];
        Parallelism.For(0, masks.Count, options.ThreadCount, m =>
        {
            var mask = masks[m];
            if (mask.Length != (long)height * width)
                throw new ArgumentException($"mask {m} has {mask.Length} pixels, not {height}x{width}", nameof(masks));
            if (mask.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            {
                (normal[m], ids[m], sizes[m]) = (mask.Length, [], []);
                return;
            }
            var labels = new int[mask.Length];
            var n = ConnectedComponents.Label(mask, height, width, labels);
            var size = new long[n];
            var list = new List<int>();
            foreach (var l in labels)
            {
                if (l == 0) { normal[m]++; continue; }
                size[l - 1]++;
                list.Add(l - 1);
            }
            ids[m] = [.. list];
            sizes[m] = size;
        });
        var count = 0;
        foreach (var s in sizes) count += s.Length;
        var inverse = new double[count];
        var first = 0;
        for (var m = 0; m < masks.Count; m++)
        {
            var local = ids[m]!;
            for (var i = 0; i < local.Length; i++) local[i] += first;
            for (var r = 0; r < sizes[m].Length; r++) inverse[first + r] = 1.0 / sizes[m][r];
            first += sizes[m].Length;
        }
        return new Regions(count, normal.Sum(), ids, inverse);
    }
}
