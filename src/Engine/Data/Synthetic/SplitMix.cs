namespace BayesPfl.Engine.Data.Synthetic;

/// <summary>
/// SplitMix64: a tiny generator with a fixed, documented output sequence, so that a seed gives the same images on every
/// .NET version and platform (System.Random's seeded sequence is an implementation detail).
/// </summary>
internal sealed class SplitMix(ulong seed)
{
    private ulong state = seed;

    /// <summary>A generator for one item, independent of the order items are generated in.</summary>
    public static SplitMix For(int seed, params string[] keys)
    {
        var h = 1469598103934665603UL ^ (ulong)(uint)seed;
        foreach (var key in keys)
            foreach (var c in key + "\u0001")
                h = (h ^ c) * 1099511628211UL;
        return new SplitMix(h);
    }

    public ulong Next()
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 bits, exactly representable as a float.</summary>
    public float Float() => (Next() >> 40) * (1f / (1 << 24));

    public float Range(float lo, float hi) => lo + (hi - lo) * Float();

    public int Int(int lo, int hiExclusive) => lo + (int)(Next() % (ulong)(hiExclusive - lo));

    public bool Chance(float p) => Float() < p;

    /// <summary>Approximately normal (sum of four uniforms, variance-matched); enough for jitter.</summary>
    public float Gaussian() => (Float() + Float() + Float() + Float() - 2f) * 1.7320508f;
}
