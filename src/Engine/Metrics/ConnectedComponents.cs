namespace BayesPfl.Engine.Metrics;

/// <summary>
/// 8-connected component labelling of a binary mask (nonzero = foreground), the connectivity of MVTec's
/// reference PRO code (scipy.ndimage.label with a 3x3 structure of ones) and of anomalib (OpenCV's
/// connectedComponents default, and its kornia GPU path). Two raster passes with union-find; labels are
/// 1..count, numbered by the raster order of each component's first pixel (as scipy numbers them).
/// </summary>
public static class ConnectedComponents
{
    /// <summary>Writes the labels (0 = background) into <paramref name="labels"/> and returns the count.</summary>
    public static int Label(ReadOnlySpan<byte> mask, int height, int width, Span<int> labels)
    {
        if (height < 0 || width < 0 || (long)height * width != mask.Length)
            throw new ArgumentException($"mask has {mask.Length} pixels, not {height}x{width}", nameof(mask));
        if (labels.Length != mask.Length) throw new ArgumentException($"labels has {labels.Length} pixels, not {mask.Length}", nameof(labels));
        var parent = new List<int> { 0 };
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = y * width + x;
                if (mask[i] == 0) { labels[i] = 0; continue; }
                var l = 0;
                // Already-visited neighbours: W, NW, N, NE.
                if (x > 0) l = Join(parent, l, labels[i - 1]);
                if (y > 0)
                {
                    if (x > 0) l = Join(parent, l, labels[i - width - 1]);
                    l = Join(parent, l, labels[i - width]);
                    if (x + 1 < width) l = Join(parent, l, labels[i - width + 1]);
                }
                if (l == 0) { l = parent.Count; parent.Add(l); }
                labels[i] = l;
            }
        }
        // Provisional labels are created in raster order and roots are always the smallest member, so
        // renumbering roots in increasing order gives the first-pixel raster order.
        var final = new int[parent.Count];
        var count = 0;
        for (var l = 1; l < parent.Count; l++)
            final[l] = Find(parent, l) == l ? ++count : final[Find(parent, l)];
        for (var i = 0; i < labels.Length; i++) labels[i] = final[labels[i]];
        return count;
    }

    private static int Join(List<int> parent, int a, int b)
    {
        if (b == 0) return a;
        if (a == 0) return Find(parent, b);
        int ra = Find(parent, a), rb = Find(parent, b);
        if (ra == rb) return ra;
        var (small, large) = ra < rb ? (ra, rb) : (rb, ra);
        parent[large] = small;
        return small;
    }

    private static int Find(List<int> parent, int a)
    {
        while (parent[a] != a)
        {
            parent[a] = parent[parent[a]];
            a = parent[a];
        }
        return a;
    }
}
