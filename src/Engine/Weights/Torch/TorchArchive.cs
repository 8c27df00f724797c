using System.IO.Compression;
using System.Text;

namespace BayesPfl.Engine.Weights.Torch;

/// <summary>
/// Opens a PyTorch checkpoint without Python: a torch.save zip (`PREFIX/data.pkl`, `PREFIX/data/KEY`,
/// `PREFIX/version`, optional `PREFIX/byteorder`; PREFIX is any folder name) or a TorchScript archive from
/// torch.jit.save (same layout plus `code/` and `constants.pkl`; the module tree in data.pkl holds the parameters).
/// <see cref="Tensors"/> flattens whatever the pickle holds into dotted names: dict keys and list indices for
/// torch.save, module attribute paths for TorchScript (so a traced CLIP yields its state_dict names, e.g.
/// `visual.transformer.resblocks.0.attn.in_proj_weight`). Tensor data is read lazily.
/// </summary>
public sealed class TorchArchive : IDisposable
{
    /// <summary>Largest data.pkl accepted; real ones are kilobytes to a few megabytes.</summary>
    public const long MaxPickleBytes = 256L << 20;

    private const int MaxDepth = 64;

    private readonly ZipArchive zip;
    private readonly string prefix;
    private readonly long fileLength;
    private readonly Dictionary<string, TorchStorage> storages = new(StringComparer.Ordinal);

    private TorchArchive(string path, ZipArchive zip, string prefix)
    {
        Path = path;
        fileLength = new FileInfo(path).Length;
        this.zip = zip;
        this.prefix = prefix;
        IsTorchScript = zip.GetEntry(prefix + "constants.pkl") is not null || zip.Entries.Any(e => e.FullName.StartsWith(prefix + "code/", StringComparison.Ordinal));
        Root = PickleReader.Load(ReadEntry(prefix + "data.pkl", MaxPickleBytes), $"{path}:{prefix}data.pkl", PersistentLoad);
        var tensors = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        Flatten(Root, "", tensors, new HashSet<object>(ReferenceEqualityComparer.Instance), 0);
        Tensors = tensors;
    }

    public string Path { get; }

    /// <summary>True for torch.jit.save archives (TorchScript), false for torch.save ones.</summary>
    public bool IsTorchScript { get; }

    /// <summary>The unpickled object (a PyDict for torch.save of a dict, a PyObject for a TorchScript module).</summary>
    public object? Root { get; }

    /// <summary>Every tensor reachable from the root, by dotted path, in pickle order (aliases appear under each name).</summary>
    public IReadOnlyDictionary<string, TorchTensor> Tensors { get; }

    public static TorchArchive Open(string path)
    {
        var zip = OpenZip(path);
        try
        {
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pickles.Count != 1)
                throw new InvalidDataException($"{path}: a torch archive has exactly one FOLDER/data.pkl entry, found {pickles.Count} " +
                                               $"(entries: {string.Join(", ", zip.Entries.Take(8).Select(e => e.FullName))}{(zip.Entries.Count > 8 ? ", ..." : "")})");
            var prefix = pickles[0].FullName[..^"data.pkl".Length];
            if (zip.GetEntry(prefix + "byteorder") is { } bo)
            {
                using var s = new StreamReader(bo.Open(), Encoding.ASCII);
                var order = s.ReadToEnd().Trim();
                if (order != "little") throw new InvalidDataException($"{path}: tensors are stored {order}-endian; only little-endian archives are supported");
            }
            return new TorchArchive(path, zip, prefix);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    private static ZipArchive OpenZip(string path)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot open: {e.Message}", e);
        }
        try
        {
            Span<byte> head = stackalloc byte[262];
            var n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            fs.Position = 0;
            if (n >= 2 && head[0] == 'P' && head[1] == 'K') return new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: false);
            // A pickle stream (torch 0.4 to 1.5) or a tar file (torch < 0.4, "ustar" at byte 257).
            if ((n >= 2 && head[0] == 0x80) || (n == head.Length && head[257..262].SequenceEqual("ustar"u8)))
                throw new InvalidDataException($"{path}: unsupported legacy (pre-1.6, non-zip) torch.save format; re-save it with torch>=1.6: torch.save(torch.load(f), f)");
            throw new InvalidDataException($"{path}: not a PyTorch checkpoint (no zip signature)");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            fs.Dispose();
            throw new InvalidDataException($"{path}: corrupt or truncated zip archive: {e.Message}", e);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    private byte[] ReadEntry(string name, long maxBytes)
    {
        var entry = zip.GetEntry(name) ?? throw new InvalidDataException($"{Path}: entry '{name}' is missing");
        if (entry.Length > maxBytes) throw new InvalidDataException($"{Path}: entry '{name}' claims {entry.Length} bytes, more than the {maxBytes} allowed");
        // Deflate cannot expand more than ~1032:1, so a larger claim is a corrupt directory, not a reason to allocate.
        if (entry.CompressedLength > fileLength || entry.Length > Math.Max(entry.CompressedLength, 1) * 1032)
            throw new InvalidDataException($"{Path}: entry '{name}' claims {entry.Length} bytes from {entry.CompressedLength} compressed in a {fileLength}-byte file (corrupt zip directory?)");
        var bytes = new byte[entry.Length];
        try
        {
            lock (zip)
            {
                using var s = entry.Open();
                s.ReadExactly(bytes);
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"{Path}: cannot read entry '{name}' (corrupt or truncated file?): {e.Message}", e);
        }
        return bytes;
    }

    // ('storage', torch.XStorage, key, location, numel): the tensor data lives in PREFIX/data/KEY.
    private object PersistentLoad(PyTuple pid)
    {
        if (pid.Count != 5 || pid[0] is not "storage" || pid[1] is not PyGlobal type || pid[2] is not string key || pid[4] is not long count)
            throw new InvalidDataException("persistent id is not ('storage', type, key, location, numel)");
        if (type.Module != "torch" || !PickleGlobals.StorageTypes.TryGetValue(type.Name, out var dtype))
            throw new InvalidDataException($"unsupported storage type {type}");
        if (storages.TryGetValue(key, out var known))
        {
            if (known.DType != dtype || known.Count != count) throw new InvalidDataException($"storage '{key}' is declared twice with different types or sizes");
            return known;
        }
        var entryName = prefix + "data/" + key;
        var entry = zip.GetEntry(entryName) ?? throw new InvalidDataException($"storage '{key}': entry '{entryName}' is missing");
        var elem = SafeTensorsFile.ElementSize(dtype);
        if (count < 0 || count > Array.MaxLength / elem)
            throw new InvalidDataException($"storage '{key}' claims {count} elements, more than this reader can hold");
        if (entry.Length != count * elem)
            throw new InvalidDataException($"storage '{key}' ({type.Name}, {count} elements) needs {count * elem} bytes but '{entryName}' holds {entry.Length} (truncated or corrupt file?)");
        var storage = new TorchStorage(key, dtype, count, () => ReadEntry(entryName, count * elem));
        storages[key] = storage;
        return storage;
    }

    private void Flatten(object? value, string name, Dictionary<string, TorchTensor> into, HashSet<object> path, int depth)
    {
        if (value is TorchTensor t)
        {
            into.TryAdd(name, t);
            return;
        }
        if (value is null || value is string || value is byte[] || value.GetType().IsPrimitive) return;
        if (depth > MaxDepth) throw new InvalidDataException($"{Path}: objects nested deeper than {MaxDepth} levels at '{name}'");
        if (!path.Add(value)) return; // a reference cycle: nothing new below
        IEnumerable<KeyValuePair<string, object?>> children = value switch
        {
            PyDict d => d.Entries.Where(e => e.Key is string or long or bool).Select(e => new KeyValuePair<string, object?>(System.Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture)!, e.Value)),
            PyList l => l.Select((v, i) => new KeyValuePair<string, object?>(i.ToString(System.Globalization.CultureInfo.InvariantCulture), v)),
            PyTuple tu => tu.Items.Select((v, i) => new KeyValuePair<string, object?>(i.ToString(System.Globalization.CultureInfo.InvariantCulture), v)),
            PyObject o => o.Attributes,
            _ => [],
        };
        foreach (var (key, child) in children) Flatten(child, name.Length == 0 ? key : name + "." + key, into, path, depth + 1);
        path.Remove(value);
    }

    public void Dispose() => zip.Dispose();
}
