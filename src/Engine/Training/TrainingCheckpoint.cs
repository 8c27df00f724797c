using System.Globalization;
using System.Security.Cryptography;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Engine.Training;

/// <summary>Everything a resumed run needs, on the host: named fp32 tensors (parameters, Adam moments) and counters.</summary>
public sealed class TrainingState
{
    public Dictionary<string, (float[] Data, int[] Shape)> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>Optimizer updates done (Adam's step; the schedule's step count equals it in stage 1).</summary>
    public long AdamStep { get; set; }

    public TrainingStage Stage { get; set; } = TrainingStage.One;

    public double Best { get; set; } = double.NegativeInfinity;

    public int Bad { get; set; }

    public int EpochsDone { get; set; }

    /// <summary>The training RNG's serialized state (opaque bytes; the data/noise generator owns the format).</summary>
    public byte[] Rng { get; set; } = [];
}

/// <summary>
/// One safetensors file per training checkpoint, written atomically (temp file + rename). The header metadata
/// holds the counters, the RNG state (hex), the byte length of the data section and a SHA-256 over every
/// tensor's bytes in file order, so that resuming from a truncated or bit-flipped file fails with an error
/// naming the file instead of training on garbage.
/// </summary>
public static class TrainingCheckpoint
{
    public const string Format = "bayespfl-training-v1";

    public static void Save(string path, TrainingState s)
    {
        var w = new SafeTensorsWriter();
        var names = s.Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long bytes = 0;
        foreach (var n in names)
        {
            var (data, shape) = s.Tensors[n];
            w.Add(n, data, shape);
            var raw = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan());
            sha.AppendData(raw);
            bytes += raw.Length;
        }
        w.Metadata("format", Format)
            .Metadata("adam_step", s.AdamStep.ToString(CultureInfo.InvariantCulture))
            .Metadata("stage", ((int)s.Stage).ToString(CultureInfo.InvariantCulture))
            .Metadata("best", s.Best.ToString("R", CultureInfo.InvariantCulture))
            .Metadata("bad", s.Bad.ToString(CultureInfo.InvariantCulture))
            .Metadata("epochs_done", s.EpochsDone.ToString(CultureInfo.InvariantCulture))
            .Metadata("rng", Convert.ToHexString(s.Rng))
            .Metadata("data_bytes", bytes.ToString(CultureInfo.InvariantCulture))
            .Metadata("sha256", Convert.ToHexString(sha.GetHashAndReset()));
        w.Save(path);
    }

    public static TrainingState Load(string path)
    {
        SafeTensorsFile f;
        try
        {
            f = SafeTensorsFile.Open(path);
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(path, e.Message, e);
        }
        using (f)
        {
            string Meta(string key) => f.Metadata.TryGetValue(key, out var v) ? v : throw Corrupt(path, $"metadata '{key}' is missing");
            if (Meta("format") != Format) throw Corrupt(path, $"format '{Meta("format")}' is not {Format}");
            var s = new TrainingState();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long bytes = 0;
            foreach (var e in f.Entries.OrderBy(e => e.Begin))
            {
                var raw = f.ReadBytes(e.Name);
                sha.AppendData(raw);
                bytes += raw.Length;
                s.Tensors[e.Name] = (f.ReadFloats(e.Name), e.Shape);
            }
            if (bytes != long.Parse(Meta("data_bytes"), CultureInfo.InvariantCulture))
                throw Corrupt(path, $"tensor data is {bytes} bytes, the header recorded {Meta("data_bytes")} (truncated?)");
            if (Convert.ToHexString(sha.GetHashAndReset()) != Meta("sha256"))
                throw Corrupt(path, "SHA-256 of the tensor data does not match the one recorded at save time");
            s.AdamStep = long.Parse(Meta("adam_step"), CultureInfo.InvariantCulture);
            s.Stage = (TrainingStage)int.Parse(Meta("stage"), CultureInfo.InvariantCulture);
            s.Best = double.Parse(Meta("best"), CultureInfo.InvariantCulture);
            s.Bad = int.Parse(Meta("bad"), CultureInfo.InvariantCulture);
            s.EpochsDone = int.Parse(Meta("epochs_done"), CultureInfo.InvariantCulture);
            s.Rng = Convert.FromHexString(Meta("rng"));
            return s;
        }
    }

    /// <summary>Downloads every parameter and its moments ("param/NAME", "adam_m/NAME", "adam_v/NAME") and the counters.</summary>
    public static TrainingState Capture(AdamOptimizer opt, StageControl control, byte[] rng)
    {
        var s = new TrainingState { AdamStep = opt.Step, Stage = control.Stage, Best = control.Best, Bad = control.Bad, EpochsDone = control.EpochsDone, Rng = rng };
        foreach (var slot in opt.Slots)
        {
            s.Tensors["param/" + slot.Name] = Download(slot.Param);
            s.Tensors["adam_m/" + slot.Name] = Download(slot.M);
            s.Tensors["adam_v/" + slot.Name] = Download(slot.V);
        }
        return s;
    }

    /// <summary>Uploads parameters and moments into the optimizer's tensors and restores the counters; lists every missing tensor at once.</summary>
    public static void Restore(TrainingState s, AdamOptimizer opt, StageControl control, string path)
    {
        var missing = opt.Slots.SelectMany(x => new[] { "param/" + x.Name, "adam_m/" + x.Name, "adam_v/" + x.Name }).Where(n => !s.Tensors.ContainsKey(n)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: training checkpoint lacks {string.Join(", ", missing)}");
        foreach (var slot in opt.Slots)
        {
            Upload(slot.Param, s.Tensors["param/" + slot.Name], path);
            Upload(slot.M, s.Tensors["adam_m/" + slot.Name], path);
            Upload(slot.V, s.Tensors["adam_v/" + slot.Name], path);
        }
        opt.Step = s.AdamStep;
        control.Restore(s.Stage, s.Best, s.Bad, s.EpochsDone);
    }

    private static (float[], int[]) Download(Tensors.Tensor t)
    {
        var data = new float[t.Length];
        t.Backend.Download(t, data);
        return (data, t.Shape.Dims.ToArray());
    }

    private static void Upload(Tensors.Tensor t, (float[] Data, int[] Shape) v, string path)
    {
        if (!v.Shape.AsSpan().SequenceEqual(t.Shape.Dims))
            throw new InvalidDataException($"{path}: {t.Name} is [{string.Join(",", v.Shape)}] in the checkpoint but {t.Shape} in the model");
        t.Backend.Upload(t, v.Data);
    }

    private static InvalidDataException Corrupt(string path, string why, Exception? inner = null) =>
        new($"{path}: training checkpoint is corrupt or truncated: {why}", inner);
}
