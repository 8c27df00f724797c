namespace BayesPfl.Engine.Metrics;

/// <summary>
/// s_map of spec §8: the mean of the k largest values of an (unsmoothed) anomaly map. Uses an in-place
/// quickselect on a scratch copy (expected O(n), median-of-three pivots, heap-free fallback to a sort of the
/// remaining range after too many unbalanced rounds), then sums the k values in float64.
/// </summary>
public static class TopKMean
{
    /// <summary>Categories that the reference code scores with k = 20 (by name); every other gets 2000.</summary>
    public static readonly IReadOnlySet<string> SmallKCategories = new HashSet<string>(StringComparer.Ordinal)
    {
        "capsules", "macaroni1", "macaroni2", "pipe_fryum", "screw", "cashew", "chewinggum",
    };

    public const int SmallK = 20;
    public const int LargeK = 2000;

    /// <summary>k for a category name, as chosen by the reference test code.</summary>
    public static int DefaultK(string category) => SmallKCategories.Contains(category) ? SmallK : LargeK;

    /// <summary>Mean of the k largest values; k is clamped to the map size (a smaller map averages all of it).</summary>
    public static double Compute(ReadOnlySpan<float> map, int k, Span<float> scratch = default)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, "must be positive");
        if (map.IsEmpty) throw new ArgumentException("empty map", nameof(map));
        k = Math.Min(k, map.Length);
        var work = scratch.Length >= map.Length ? scratch[..map.Length] : new float[map.Length];
        map.CopyTo(work);
        foreach (var v in work) if (float.IsNaN(v)) throw new ArgumentException("map contains NaN", nameof(map));
        SelectLargest(work, k);
        double sum = 0;
        for (var i = work.Length - k; i < work.Length; i++) sum += work[i];
        return sum / k;
    }

    /// <summary>s_map of many maps at once, in parallel.</summary>
    public static double[] Compute(IReadOnlyList<float[]> maps, int k)
    {
        var result = new double[maps.Count];
        Parallel.For(0, maps.Count, () => Array.Empty<float>(), (i, _, scratch) =>
        {
            if (scratch.Length < maps[i].Length) scratch = new float[maps[i].Length];
            result[i] = Compute(maps[i], k, scratch);
            return scratch;
        }, _ => { });
        return result;
    }

    /// <summary>Rearranges a so that its last k elements are its k largest (in any order).</summary>
    private static void SelectLargest(Span<float> a, int k)
    {
        var target = a.Length - k;
        int lo = 0, hi = a.Length - 1, budget = 2 * (int)Math.Log2(a.Length) + 8;
        while (hi > lo)
        {
            if (budget-- == 0) { a[lo..(hi + 1)].Sort(); return; }
            var mid = lo + (hi - lo) / 2;
            if (a[mid] < a[lo]) Swap(a, mid, lo);
            if (a[hi] < a[lo]) Swap(a, hi, lo);
            if (a[hi] < a[mid]) Swap(a, hi, mid);
            var pivot = a[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) { Swap(a, i, j); i++; j--; }
            }
            // Now a[lo..j] <= pivot <= a[i..hi] and everything between equals the pivot.
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return;
        }
    }

    private static void Swap(Span<float> a, int i, int j) => (a[i], a[j]) = (a[j], a[i]);
}
