namespace BayesPfl.Bench;

/// <summary>
/// A synthetic test category shaped like the real evaluation input: `images` smooth score maps of side x side
/// (a few low-frequency waves plus small noise, so nearly every score is distinct as after the sigma-8 blur)
/// and sparse binary masks (about a third of the images hold 1-3 elliptical defects that also raise the
/// scores). Deterministic for a seed; generated in parallel.
/// </summary>
public sealed class SyntheticCategory
{
    public float[][] Maps { get; }
    public byte[][] Masks { get; }
    public int Side { get; }

    public SyntheticCategory(int images, int side, int seed = 1)
    {
        Side = side;
        Maps = new float[images][];
        Masks = new byte[images][];
        Parallel.For(0, images, i => (Maps[i], Masks[i]) = One(side, seed * 1_000_003 + i));
    }

    public long Pixels => (long)Maps.Length * Side * Side;

    private static (float[], byte[]) One(int side, int seed)
    {
        var rng = new Random(seed);
        var map = new float[side * side];
        var mask = new byte[side * side];
        double fx = rng.NextDouble() * 0.05, fy = rng.NextDouble() * 0.05, phase = rng.NextDouble() * 6.3, level = 0.2 + 0.2 * rng.NextDouble();
        var defects = rng.NextDouble() < 0.35 ? rng.Next(1, 4) : 0;
        var ellipses = Enumerable.Range(0, defects)
            .Select(_ => (cy: rng.NextDouble() * side, cx: rng.NextDouble() * side, ry: 3 + rng.NextDouble() * side / 12, rx: 3 + rng.NextDouble() * side / 12))
            .ToArray();
        var state = (uint)seed | 1u;
        for (var y = 0; y < side; y++)
        {
            var wave = Math.Sin(fy * y + phase);
            for (var x = 0; x < side; x++)
            {
                state ^= state << 13; state ^= state >> 17; state ^= state << 5;
                var v = level + 0.08 * wave * Math.Cos(fx * x) + 0.01 * (state / (double)uint.MaxValue);
                foreach (var (cy, cx, ry, rx) in ellipses)
                {
                    var d = (y - cy) * (y - cy) / (ry * ry) + (x - cx) * (x - cx) / (rx * rx);
                    if (d <= 1) mask[y * side + x] = 1;
                    v += 0.3 * Math.Exp(-d);
                }
                map[y * side + x] = (float)v;
            }
        }
        return (map, mask);
    }
}
