namespace BayesPfl.Engine.Data.Training;

/// <summary>
/// The random stream of one slot of one epoch: SplitMix64 started from a hash of (seed, epoch, position). Being
/// counter-based (no state carried from one slot to the next), any batch can be rebuilt without replaying the
/// batches before it, whichever thread builds it: a batch is a pure function of (seed, epoch, batch index), which
/// is what makes a resumed run bit-identical. The sequence is fixed by this code (System.Random's seeded sequence
/// is an implementation detail), so a seed names the same augmentations on every platform and .NET version.
/// </summary>
public sealed class AugmentRandom
{
    /// <summary>The position that keys the epoch's shuffle (slots are 0..count-1).</summary>
    public const long ShufflePosition = -1;

    private ulong state;

    public AugmentRandom(ulong seed, long epoch, long position)
    {
        // Distinct odd multipliers keep (epoch, position) and (position, epoch) apart before each avalanche.
        var h = Mix(seed ^ 0x6A09E667F3BCC909UL);
        h = Mix(h ^ ((ulong)epoch * 0xBB67AE8584CAA73BUL));
        state = Mix(h ^ ((ulong)position * 0x3C6EF372FE94F82BUL));
    }

    public ulong NextBits() => Mix(state += 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double Uniform() => (NextBits() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi), as Python's random.uniform.</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * Uniform();

    /// <summary>True with probability p; always consumes one draw, so p does not shift the draws that follow.</summary>
    public bool Chance(double p) => Uniform() < p;

    /// <summary>Uniform integer in [lo, hiInclusive], as Python's random.randint.</summary>
    public int Int(int lo, int hiInclusive) => lo + (int)(Uniform() * ((long)hiInclusive - lo + 1));

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = Int(0, i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
