using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Weights;

/// <summary>Element types a safetensors file may declare (the subset the engine reads).</summary>
public enum StDType
{
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    BOOL,
}

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record StEntry(string Name, StDType DType, int[] Shape, long Begin, long End)
{
    public long Count => Shape.Aggregate(1L, (a, d) => checked(a * d));

    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}

/// <summary>
/// Reads a safetensors file: 8-byte little-endian header length, a JSON header
/// {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {string: string}}, then the raw data.
/// Everything is validated before any tensor is read: header size, JSON shape, dtype names, that every
/// entry's byte range matches dtype x shape, lies inside the file and overlaps no other entry. Errors name
/// the file and the tensor. The whole file is never loaded at once; tensors are read on demand.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the format's own readers use 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly FileStream stream;
    private readonly long dataStart;
    private readonly Dictionary<string, StEntry> entries;

    private SafeTensorsFile(string path, FileStream stream, long dataStart, Dictionary<string, StEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        this.stream = stream;
        this.dataStart = dataStart;
        this.entries = entries;
        Metadata = metadata;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IReadOnlyCollection<StEntry> Entries => entries.Values;

    public bool Contains(string name) => entries.ContainsKey(name);

    public StEntry Entry(string name) =>
        entries.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    public static SafeTensorsFile Open(string path)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot open safetensors file: {e.Message}", e);
        }
        try
        {
            return Parse(path, fs);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    private static SafeTensorsFile Parse(string path, FileStream fs)
    {
        var fileLength = fs.Length;
        if (fileLength < 8) throw Bad(path, $"file is {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > MaxHeaderBytes) throw Bad(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        if ((long)headerLength > fileLength - 8) throw Bad(path, $"header length {headerLength} runs past the end of the {fileLength}-byte file (truncated?)");
        var header = new byte[headerLength];
        fs.ReadExactly(header);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Bad(path, $"header is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "header is not a JSON object");
            var entries = new Dictionary<string, StEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"__metadata__.{m.Name} is not a string");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                if (!entries.TryAdd(prop.Name, ParseEntry(path, prop.Name, prop.Value, dataLength)))
                    throw Bad(path, $"tensor '{prop.Name}' appears twice");
            }
            CheckNoOverlap(path, entries.Values);
            return new SafeTensorsFile(path, fs, dataStart, entries, metadata);
        }
    }

    private static StEntry ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(path, $"entry '{name}' is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad(path, $"tensor '{name}' has no dtype");
        if (!Enum.TryParse<StDType>(dt.GetString(), ignoreCase: false, out var dtype) || !Enum.IsDefined(dtype))
            throw Bad(path, $"tensor '{name}' has unknown dtype '{dt.GetString()}'");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{name}' has no shape");
        var shape = new List<int>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v) || v < 0 || v > int.MaxValue)
                throw Bad(path, $"tensor '{name}' has an invalid dimension {d}");
            shape.Add((int)v);
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad(path, $"tensor '{name}' has no [begin, end] data_offsets");
        if (!off[0].TryGetInt64(out var begin) || !off[1].TryGetInt64(out var end) || begin < 0 || end < begin)
            throw Bad(path, $"tensor '{name}' has invalid data_offsets {off}");
        if (end > dataLength)
            throw Bad(path, $"tensor '{name}' data [{begin},{end}) runs past the end of the data section ({dataLength} bytes; truncated file?)");
        var entry = new StEntry(name, dtype, shape.ToArray(), begin, end);
        long expected;
        try
        {
            expected = checked(entry.Count * ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw Bad(path, $"tensor '{name}' shape {entry.ShapeText} is too large");
        }
        if (end - begin != expected)
            throw Bad(path, $"tensor '{name}' {dtype}{entry.ShapeText} needs {expected} bytes but data_offsets give {end - begin}");
        return entry;
    }

    private static void CheckNoOverlap(string path, IEnumerable<StEntry> entries)
    {
        StEntry? previous = null;
        foreach (var e in entries.Where(x => x.End > x.Begin).OrderBy(x => x.Begin))
        {
            if (previous is not null && e.Begin < previous.End)
                throw Bad(path, $"tensors '{previous.Name}' and '{e.Name}' overlap in the data section");
            previous = e;
        }
    }

    public static int ElementSize(StDType t) => t switch
    {
        StDType.F64 or StDType.I64 => 8,
        StDType.F32 or StDType.I32 => 4,
        StDType.F16 or StDType.BF16 or StDType.I16 => 2,
        StDType.I8 or StDType.U8 or StDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>The raw bytes of a tensor.</summary>
    public byte[] ReadBytes(string name)
    {
        var e = Entry(name);
        var bytes = new byte[e.End - e.Begin];
        lock (stream)
        {
            stream.Position = dataStart + e.Begin;
            stream.ReadExactly(bytes);
        }
        return bytes;
    }

    /// <summary>A floating-point tensor converted to fp32 (from F32, F16, BF16 or F64).</summary>
    public float[] ReadFloats(string name)
    {
        var e = Entry(name);
        var raw = ReadBytes(name);
        var n = checked((int)e.Count);
        var result = new float[n];
        switch (e.DType)
        {
            case StDType.F32:
                Buffer.BlockCopy(raw, 0, result, 0, raw.Length);
                break;
            case StDType.F16:
                for (var i = 0; i < n; i++) result[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(2 * i)));
                break;
            case StDType.BF16:
                for (var i = 0; i < n; i++) result[i] = Bf16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(2 * i)));
                break;
            case StDType.F64:
                for (var i = 0; i < n; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.AsSpan(8 * i));
                break;
            default:
                throw new InvalidDataException($"{Path}: tensor '{name}' is {e.DType}, not a floating-point type");
        }
        return result;
    }

    /// <summary>An integer tensor as int64 (from I64, I32, I16, I8, U8, BOOL).</summary>
    public long[] ReadInts(string name)
    {
        var e = Entry(name);
        var raw = ReadBytes(name);
        var n = checked((int)e.Count);
        var result = new long[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = e.DType switch
            {
                StDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(8 * i)),
                StDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(4 * i)),
                StDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(2 * i)),
                StDType.I8 => (sbyte)raw[i],
                StDType.U8 or StDType.BOOL => raw[i],
                _ => throw new InvalidDataException($"{Path}: tensor '{name}' is {e.DType}, not an integer type"),
            };
        }
        return result;
    }

    private static InvalidDataException Bad(string path, string message) => new($"{path}: invalid safetensors file: {message}");

    public void Dispose() => stream.Dispose();
}
