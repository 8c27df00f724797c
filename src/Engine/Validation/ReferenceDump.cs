using BayesPfl.Engine.Model;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Engine.Validation;

public enum DumpKind
{
    /// <summary>Inputs and outputs of the CLIP towers (clip_towers.py, or a user's hooks on CLIP).</summary>
    ClipTowers,

    /// <summary>The whole test-time pipeline with injected noise (pipeline_oracle.py).</summary>
    Pipeline,
}

/// <summary>
/// A reference dump opened for validation: its kind (told by the tensors it holds), typed reads that name the dump
/// and the tensor in every error, and the engine files its metadata points to (relative paths resolve against the
/// dump's folder, so a dump can travel with its weights).
/// </summary>
public sealed class ReferenceDump : IDisposable
{
    private ReferenceDump(SafeTensorsFile file, DumpKind kind)
    {
        File = file;
        Kind = kind;
    }

    public SafeTensorsFile File { get; }

    public DumpKind Kind { get; }

    public string Path => File.Path;

    /// <summary>Opens <paramref name="path"/>; a file of another kind (an engine file, not safetensors at all) is an <see cref="InvalidDataException"/> saying what it is.</summary>
    public static ReferenceDump Open(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"{path}: no such reference dump", path);
        var file = SafeTensorsFile.Open(path);
        try
        {
            return new ReferenceDump(file, Classify(file));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static DumpKind Classify(SafeTensorsFile file)
    {
        if (file.Contains(ReferenceNames.Eps)) return DumpKind.Pipeline;
        if (file.Contains(ReferenceNames.Images) || file.Contains(ReferenceNames.Ids) || file.Contains(ReferenceNames.SpliceIds)) return DumpKind.ClipTowers;
        if (file.Metadata.TryGetValue(ClipConfig.FormatKey, out var format))
            throw new InvalidDataException($"{file.Path} is a CLIP engine file ({format}), not a reference dump: give it with --clip and the dump with --reference");
        if (file.Contains("prompt_context"))
            throw new InvalidDataException($"{file.Path} is a Bayes-PFL head file, not a reference dump: give it with --head and the dump with --reference");
        var some = string.Join(", ", file.Entries.OrderBy(e => e.Begin).Take(5).Select(e => e.Name));
        throw new InvalidDataException($"{file.Path} is not a reference dump: it holds none of {ReferenceNames.Images}, {ReferenceNames.Ids}, " +
            $"{ReferenceNames.SpliceIds} (CLIP towers) or {ReferenceNames.Eps} (pipeline); its tensors: {(some.Length == 0 ? "none" : some)} " +
            "(see docs/reference-dumps.md)");
    }

    public bool Contains(string name) => File.Contains(name);

    public int[] Shape(string name) => File.Entry(name).Shape;

    public float[] Floats(string name) => File.ReadFloats(name);

    public int[] Ints(string name) => File.ReadInts(name).Select(v => v is >= int.MinValue and <= int.MaxValue
        ? (int)v : throw new InvalidDataException($"{Path}: {name} holds {v}, outside the int32 range")).ToArray();

    /// <summary><paramref name="given"/> if set, else the path in metadata <paramref name="key"/>.</summary>
    public string EngineFile(string? given, string key, string flag)
    {
        if (given is not null) return given;
        if (!File.Metadata.TryGetValue(key, out var stored) || stored.Length == 0)
            throw new InvalidDataException($"{Path}: metadata has no \"{key}\" naming the engine file; give it with {flag}");
        var resolved = System.IO.Path.IsPathRooted(stored) ? stored : System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".", stored);
        if (!System.IO.File.Exists(resolved))
            throw new FileNotFoundException($"{Path}: metadata \"{key}\" names {resolved}, which does not exist; give the file with {flag}", resolved);
        return resolved;
    }

    /// <summary>Throws naming the dump and the tensor when <paramref name="name"/> is missing or has the wrong rank.</summary>
    public int[] Require(string name, int rank, string why)
    {
        if (!Contains(name)) throw new InvalidDataException($"{Path}: {why} needs tensor {name}, which the dump does not hold");
        var shape = Shape(name);
        if (shape.Length != rank)
            throw new InvalidDataException($"{Path}: {name} is [{string.Join(",", shape)}], expected rank {rank}");
        return shape;
    }

    public void Dispose() => File.Dispose();
}
