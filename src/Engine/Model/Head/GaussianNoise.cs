namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// Seeded N(0,1) draws for the flows' base samples. Algorithm (stable across platforms and .NET versions, so a
/// seed names one stream): SplitMix64 expands the seed into the 256-bit state of xoshiro256**; each pair of
/// outputs x1, x2 gives uniforms u1 = (⌊x1/2^11⌋ + 1)·2^-53 ∈ (0,1] and u2 = ⌊x2/2^11⌋·2^-53 ∈ [0,1), and the
/// Box–Muller transform yields two normals √(−2 ln u1)·cos(2π u2), √(−2 ln u1)·sin(2π u2), computed in double
/// and rounded to float, in that order. PyTorch's stream cannot be reproduced (spec 14.9); parity tests inject
/// the noise instead.
/// </summary>
public sealed class GaussianNoise
{
    private ulong s0, s1, s2, s3;
    private double spare = double.NaN;

    public GaussianNoise(ulong seed)
    {
        s0 = SplitMix(ref seed);
        s1 = SplitMix(ref seed);
        s2 = SplitMix(ref seed);
        s3 = SplitMix(ref seed);
    }

    public void Fill(Span<float> values)
    {
        for (var i = 0; i < values.Length; i++) values[i] = (float)Next();
    }

    public double Next()
    {
        if (!double.IsNaN(spare))
        {
            var s = spare;
            spare = double.NaN;
            return s;
        }
        var u1 = ((NextBits() >> 11) + 1) * (1.0 / (1UL << 53));
        var u2 = (NextBits() >> 11) * (1.0 / (1UL << 53));
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        spare = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    private ulong NextBits()
    {
        var result = ulong.RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
