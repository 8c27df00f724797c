namespace BayesPfl.Engine.Metrics.Device;

/// <summary>
/// CPU reference of rank_count_forward (src/Kernels/metrics.cu), same argument order: outputs, inputs. Every
/// score's key (<see cref="ScoreKey"/>) is ranked among the strictly descending <paramref name="splits"/>:
/// counts[2j+1] += 1 when it equals splits[j], counts[2j] += 1 when it lies strictly between splits[j-1] and
/// splits[j] (bin 0 above all splits, bin 2U below all). Accumulates, as the kernel does over chunks.
/// </summary>
public static class RankCountReference
{
    public static void Count(Span<ulong> counts, ReadOnlySpan<uint> splits, ReadOnlySpan<float> scores)
    {
        if (counts.Length != 2 * splits.Length + 1)
            throw new ArgumentException($"counts has {counts.Length} bins, {splits.Length} splits need {2 * splits.Length + 1}", nameof(counts));
        foreach (var s in scores)
        {
            var key = ScoreKey(s);
            // j = number of splits above the key: a plain lower-bound search over the descending splits.
            int lo = 0, hi = splits.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) / 2;
                if (splits[mid] > key) lo = mid + 1;
                else hi = mid;
            }
            counts[2 * lo + (lo < splits.Length && splits[lo] == key ? 1 : 0)]++;
        }
    }

    /// <summary>The order-preserving key of a score (larger float, larger key; -0 and +0 one key), as the CPU
    /// sweep and the kernel compute it.</summary>
    public static uint ScoreKey(float score) => ThresholdSweep.Key(score);

    /// <summary>The score of a key (+0 for the zero key).</summary>
    public static float ScoreOf(uint key) => ThresholdSweep.FromKey(key);
}
