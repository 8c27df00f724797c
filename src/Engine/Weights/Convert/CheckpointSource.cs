using BayesPfl.Engine.Weights.Torch;

namespace BayesPfl.Engine.Weights.Convert;

/// <summary>A tensor of the input checkpoint: its shape and a reader that converts it to fp32 on demand.</summary>
public sealed record SourceTensor(int[] Shape, Func<float[]> Read)
{
    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}

/// <summary>
/// The tensors of a checkpoint file, whatever its container: a torch.save zip, a TorchScript archive or safetensors
/// (told apart by content, not by extension). Names are the container's own (dotted paths for torch files).
/// </summary>
public sealed class CheckpointSource : IDisposable
{
    private readonly IDisposable owner;

    private CheckpointSource(string format, IReadOnlyDictionary<string, SourceTensor> tensors, IDisposable owner)
    {
        Format = format;
        Tensors = tensors;
        this.owner = owner;
    }

    /// <summary>"torchscript", "torch.save" or "safetensors".</summary>
    public string Format { get; }

    public IReadOnlyDictionary<string, SourceTensor> Tensors { get; }

    public static CheckpointSource Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found", path);
        if (LooksLikeSafeTensors(path))
        {
            var st = SafeTensorsFile.Open(path);
            var tensors = st.Entries.ToDictionary(e => e.Name, e => new SourceTensor(e.Shape, () => st.ReadFloats(e.Name)), StringComparer.Ordinal);
            return new CheckpointSource("safetensors", tensors, st);
        }
        var archive = TorchArchive.Open(path);
        var map = new Dictionary<string, SourceTensor>(StringComparer.Ordinal);
        foreach (var (name, t) in archive.Tensors) map[name] = new SourceTensor(t.Shape, t.ReadFloats);
        return new CheckpointSource(archive.IsTorchScript ? "torchscript" : "torch.save", map, archive);
    }

    // safetensors: u64 header length, then a JSON object; torch files start with "PK" (zip) or 0x80 (legacy pickle).
    private static bool LooksLikeSafeTensors(string path)
    {
        Span<byte> head = stackalloc byte[9];
        using var fs = File.OpenRead(path);
        return fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head[8] == (byte)'{' && head[0] != (byte)'P' && head[0] != 0x80;
    }

    public void Dispose() => owner.Dispose();
}
