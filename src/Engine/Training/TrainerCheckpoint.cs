using System.Buffers.Binary;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The trainer's counters, stored in <see cref="TrainingState.Rng"/> (the random state of a counter-based
/// generator is its counters): the seed, the global step (updates over both stages, the key of the step's
/// draws and the schedule's position), the batches per epoch the schedule was built for, and the stage and
/// metrics of the best snapshot (<see cref="TrainingStage.Done"/> stands for "no snapshot yet").
/// Layout: version byte 1, seed u64, step i64, batches i32, best stage byte, best pixel AP f64, best image AP f64,
/// all little-endian.
/// </summary>
public sealed record TrainerCounters(ulong Seed, long GlobalStep, int BatchesPerEpoch, TrainingStage BestStage, ValidationMetrics? BestMetrics)
{
    private const byte Version = 1;
    private const int Length = 1 + 8 + 8 + 4 + 1 + 8 + 8;

    public byte[] ToBytes()
    {
        var b = new byte[Length];
        b[0] = Version;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(1), Seed);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(9), GlobalStep);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(17), BatchesPerEpoch);
        b[21] = BestMetrics is null ? (byte)0 : (byte)BestStage;
        BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(22), BestMetrics?.PixelAp ?? double.NaN);
        BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(30), BestMetrics?.ImageAp ?? double.NaN);
        return b;
    }

    public static TrainerCounters FromBytes(byte[] b, string path)
    {
        if (b.Length != Length || b[0] != Version)
            throw new InvalidDataException($"{path}: not a trainer checkpoint (counter block of {b.Length} bytes, version {(b.Length > 0 ? b[0] : -1)}; expected {Length} bytes, version {Version})");
        var stage = b[21];
        if (stage > 2) throw new InvalidDataException($"{path}: best-snapshot stage {stage} is not 0, 1 or 2");
        ValidationMetrics? best = stage == 0 ? null
            : new(BinaryPrimitives.ReadDoubleLittleEndian(b.AsSpan(22)), BinaryPrimitives.ReadDoubleLittleEndian(b.AsSpan(30)));
        return new TrainerCounters(BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(1)), BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(9)),
            BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(17)), stage == 0 ? TrainingStage.Done : (TrainingStage)stage, best);
    }
}

/// <summary>
/// A trainer checkpoint on top of <see cref="TrainingCheckpoint"/> (atomic, SHA-256): "param/NAME" for EVERY head
/// parameter (stage 2's optimiser holds only a few of them), "adam_m/NAME" and "adam_v/NAME" for the current
/// optimiser's slots, "best/NAME" for the best snapshot when there is one, and the counters.
/// </summary>
public static class TrainerCheckpoint
{
    public static TrainingState Capture(HeadParameters p, AdamOptimizer opt, StageControl control, TrainerCounters counters,
        IReadOnlyDictionary<string, float[]>? best)
    {
        var s = new TrainingState
        {
            AdamStep = opt.Step,
            Stage = control.Stage,
            Best = control.Best,
            Bad = control.Bad,
            EpochsDone = control.EpochsDone,
            Rng = counters.ToBytes(),
        };
        var host = p.ToHost();
        foreach (var name in p.Names)
        {
            var shape = p[name].Shape.Dims.ToArray();
            s.Tensors["param/" + name] = (host[name], shape);
            if (best is not null) s.Tensors["best/" + name] = (best[name], shape);
        }
        foreach (var slot in opt.Slots)
        {
            s.Tensors["adam_m/" + slot.Name] = (Download(slot.M), slot.M.Shape.Dims.ToArray());
            s.Tensors["adam_v/" + slot.Name] = (Download(slot.V), slot.V.Shape.Dims.ToArray());
        }
        return s;
    }

    /// <summary>Parameters (all of them), or the best snapshot with <paramref name="prefix"/> "best/"; every missing tensor listed at once.</summary>
    public static Dictionary<string, float[]> Values(TrainingState s, HeadParameters p, string prefix, string path)
    {
        var missing = p.Names.Where(n => !s.Tensors.ContainsKey(prefix + n)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: trainer checkpoint lacks {string.Join(", ", missing.Select(n => prefix + n))}");
        return p.Names.ToDictionary(n => n, n => s.Tensors[prefix + n].Data, StringComparer.Ordinal);
    }

    /// <summary>Loads the optimiser's moments and step (its slots must already be the checkpoint's stage's).</summary>
    public static void RestoreMoments(TrainingState s, AdamOptimizer opt, string path)
    {
        var missing = opt.Slots.SelectMany(x => new[] { "adam_m/" + x.Name, "adam_v/" + x.Name }).Where(n => !s.Tensors.ContainsKey(n)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: trainer checkpoint lacks {string.Join(", ", missing)}");
        foreach (var slot in opt.Slots)
        {
            Upload(slot.M, s.Tensors["adam_m/" + slot.Name], path);
            Upload(slot.V, s.Tensors["adam_v/" + slot.Name], path);
        }
        opt.Step = s.AdamStep;
    }

    private static float[] Download(Tensors.Tensor t)
    {
        var data = new float[t.Length];
        t.Backend.Download(t, data);
        return data;
    }

    private static void Upload(Tensors.Tensor t, (float[] Data, int[] Shape) v, string path)
    {
        if (!v.Shape.AsSpan().SequenceEqual(t.Shape.Dims))
            throw new InvalidDataException($"{path}: {t.Name} is [{string.Join(",", v.Shape)}] in the checkpoint but {t.Shape} in the model");
        t.Backend.Upload(t, v.Data);
    }
}
