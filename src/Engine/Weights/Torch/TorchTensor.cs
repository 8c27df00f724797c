using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Weights.Torch;

/// <summary>
/// One storage of a torch archive: `Count` elements of `DType` in the zip entry `data/KEY`. Several tensors may
/// view the same storage; its bytes are read when a tensor is first read and kept only while memory allows.
/// </summary>
public sealed class TorchStorage
{
    private readonly Func<byte[]> load;
    private readonly WeakReference<byte[]?> cache = new(null);

    public TorchStorage(string key, StDType dtype, long count, Func<byte[]> load)
    {
        Key = key;
        DType = dtype;
        Count = count;
        this.load = load;
    }

    public string Key { get; }

    public StDType DType { get; }

    public long Count { get; }

    public byte[] Bytes()
    {
        lock (cache)
        {
            if (cache.TryGetTarget(out var b) && b is not null) return b;
            b = load();
            cache.SetTarget(b);
            return b;
        }
    }
}

/// <summary>
/// A tensor handle: a strided view (offset, shape, stride in elements) into a <see cref="TorchStorage"/>. Nothing
/// is read until <see cref="ReadFloats"/>. The view is validated against the storage when it is created, so any
/// (non-contiguous, overlapping, shared) view that exists can be read without further checks.
/// </summary>
public sealed class TorchTensor
{
    private TorchTensor(TorchStorage storage, long offset, int[] shape, long[] stride)
    {
        Storage = storage;
        Offset = offset;
        Shape = shape;
        Stride = stride;
    }

    public TorchStorage Storage { get; }

    public long Offset { get; }

    public int[] Shape { get; }

    public long[] Stride { get; }

    public StDType DType => Storage.DType;

    public int Count => Shape.Aggregate(1, (a, d) => a * d);

    public string ShapeText => "[" + string.Join(",", Shape) + "]";

    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (var i = Shape.Length - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && Stride[i] != expected) return false;
                expected *= Shape[i];
            }
            return true;
        }
    }

    public static TorchTensor Create(TorchStorage storage, long offset, long[] size, long[] stride)
    {
        if (size.Length != stride.Length) throw new InvalidDataException($"tensor on storage '{storage.Key}' has {size.Length} sizes but {stride.Length} strides");
        if (offset < 0) throw new InvalidDataException($"tensor on storage '{storage.Key}' has negative offset {offset}");
        long count = 1, last = offset;
        try
        {
            for (var i = 0; i < size.Length; i++)
            {
                if (size[i] < 0 || stride[i] < 0)
                    throw new InvalidDataException($"tensor on storage '{storage.Key}' has size {size[i]} / stride {stride[i]} in dim {i}");
                count = checked(count * size[i]);
                if (size[i] > 0) last = checked(last + (size[i] - 1) * stride[i]);
            }
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"tensor on storage '{storage.Key}' has an absurd shape [{string.Join(",", size)}]");
        }
        if (count > Array.MaxLength) throw new InvalidDataException($"tensor on storage '{storage.Key}' has {count} elements, more than one array can hold");
        if (count > 0 && last >= storage.Count)
            throw new InvalidDataException($"tensor view [{string.Join(",", size)}] at offset {offset} reaches element {last} of storage '{storage.Key}', which holds {storage.Count}");
        return new TorchTensor(storage, offset, size.Select(s => (int)s).ToArray(), (long[])stride.Clone());
    }

    /// <summary>The values in row-major order of <see cref="Shape"/>, converted to fp32 (integers and bools too).</summary>
    public float[] ReadFloats()
    {
        var bytes = Storage.Bytes();
        var result = new float[Count];
        if (result.Length == 0) return result;
        var size = SafeTensorsFile.ElementSize(DType);
        if (IsContiguous)
        {
            var span = bytes.AsSpan(checked((int)(Offset * size)), result.Length * size);
            if (DType == StDType.F32 && BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(span).CopyTo(result);
            else if (DType == StDType.F16 && BitConverter.IsLittleEndian) TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(span), result);
            else
                for (var i = 0; i < result.Length; i++) result[i] = Element(bytes, (Offset + i) * size);
            return result;
        }
        var index = new int[Shape.Length];
        var at = Offset;
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Element(bytes, at * size);
            for (var d = Shape.Length - 1; d >= 0; d--)
            {
                at += Stride[d];
                if (++index[d] < Shape[d]) break;
                at -= Stride[d] * Shape[d];
                index[d] = 0;
            }
        }
        return result;
    }

    private float Element(byte[] b, long at)
    {
        var s = b.AsSpan(checked((int)at));
        return DType switch
        {
            StDType.F32 => BinaryPrimitives.ReadSingleLittleEndian(s),
            StDType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(s),
            StDType.BF16 => Bf16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(s)),
            StDType.F64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
            StDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(s),
            StDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(s),
            StDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(s),
            StDType.I8 => (sbyte)s[0],
            _ => s[0],
        };
    }
}
