using BayesPfl.Engine.Model.Head;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The trainer's randomness, counter-based: every draw is a pure function of (seed, global step, stream), so a
/// resumed run needs only the counters (no generator state to save) and the draws of step t do not depend on how
/// many values earlier steps consumed. Keys are SplitMix64 finalisations of the mixed counters; the normals come
/// from <see cref="GaussianNoise"/> seeded with the key (a fixed, documented algorithm).
/// </summary>
public static class TrainerRng
{
    private const ulong BankStream = 1, NoiseStream = 2, ValidationStream = 3;

    /// <summary>b* ∈ [0, bank) of the step (spec 9.1: one index for the whole batch).</summary>
    public static int BankIndex(ulong seed, long step, int bank)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bank, 1);
        return (int)(Key(seed, step, BankStream) % (ulong)bank);
    }

    /// <summary>(images + 2)·embed standard normals in the layout <see cref="ITrainStep.Run"/> expects.</summary>
    public static float[] Noise(ulong seed, long step, int images, int embed)
    {
        var noise = new float[(images + 2) * embed];
        new GaussianNoise(Key(seed, step, NoiseStream)).Fill(noise);
        return noise;
    }

    /// <summary>
    /// Seed of the detector's flow samples in every validation run: the same draw each epoch, so that two epochs'
    /// metrics differ only by their parameters (the reference's samples drift with its global RNG, which adds
    /// sampling noise to the model selection).
    /// </summary>
    public static ulong ValidationSeed(ulong seed) => Key(seed, 0, ValidationStream);

    public static ulong Key(ulong seed, long counter, ulong stream) =>
        Mix(Mix(Mix(seed) ^ (ulong)counter) ^ (stream * 0xD1B54A32D192ED03UL));

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
