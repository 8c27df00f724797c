using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Weights;

/// <summary>
/// Writes a safetensors file atomically: everything goes to "PATH.tmp-XXXX" first, is flushed to disk,
/// then renamed over PATH, so a crash never leaves a half-written file under the final name.
/// Tensors are written in the order added; the header is padded with spaces to a multiple of 8 bytes.
/// </summary>
public sealed class SafeTensorsWriter
{
    private readonly List<(string Name, StDType DType, int[] Shape, byte[] Data)> tensors = new();
    private readonly Dictionary<string, string> metadata = new(StringComparer.Ordinal);

    public SafeTensorsWriter Metadata(string key, string value)
    {
        metadata[key] = value;
        return this;
    }

    public SafeTensorsWriter Add(string name, ReadOnlySpan<float> data, params int[] shape) =>
        AddRaw(name, StDType.F32, shape, MemoryMarshal.AsBytes(data).ToArray(), data.Length);

    /// <summary>Stores fp32 values as bfloat16 (round to nearest even).</summary>
    public SafeTensorsWriter AddBf16(string name, ReadOnlySpan<float> data, params int[] shape)
    {
        var bytes = new byte[data.Length * 2];
        for (var i = 0; i < data.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), Bf16.FromFloat(data[i]));
        return AddRaw(name, StDType.BF16, shape, bytes, data.Length);
    }

    public SafeTensorsWriter Add(string name, ReadOnlySpan<long> data, params int[] shape) =>
        AddRaw(name, StDType.I64, shape, MemoryMarshal.AsBytes(data).ToArray(), data.Length);

    public SafeTensorsWriter AddRaw(string name, StDType dtype, int[] shape, byte[] data, long count)
    {
        var expected = shape.Aggregate(1L, (a, d) => checked(a * d));
        if (expected != count) throw new ArgumentException($"{name}: shape [{string.Join(",", shape)}] holds {expected} values, got {count}");
        if (tensors.Any(t => t.Name == name)) throw new ArgumentException($"{name}: added twice");
        tensors.Add((name, dtype, (int[])shape.Clone(), data));
        return this;
    }

    public void Save(string path)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata.Count > 0) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var t in tensors)
        {
            header[t.Name] = new Dictionary<string, object>
            {
                ["dtype"] = t.DType.ToString(),
                ["shape"] = t.Shape,
                ["data_offsets"] = new[] { offset, offset + t.Data.Length },
            };
            offset += t.Data.Length;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header, HeaderJsonContext.Default.DictionaryStringObject);
        var padded = (json.Length + 7) / 8 * 8;

        AtomicFile.Write(path, fs =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            fs.Write(len);
            fs.Write(json);
            for (var i = json.Length; i < padded; i++) fs.WriteByte((byte)' ');
            foreach (var t in tensors) fs.Write(t.Data);
        });
    }
}

/// <summary>Write-then-rename, so that readers never see a partial file under the final name.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write)
    {
        var full = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        var tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(tmp);
            }
            catch (IOException)
            {
                // The original error matters more than a leftover temp file.
            }
            throw;
        }
    }
}
