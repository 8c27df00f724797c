using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>
/// Flat activation buffers sized for the largest number of rows a caller has asked for; a larger request frees them
/// all so the owner allocates again. Calls take views of their first rows, so repeated calls allocate nothing.
/// </summary>
internal sealed class GrowingBuffers(IBackend backend, string tag) : IDisposable
{
    private readonly List<Tensor> buffers = new();

    public long Capacity { get; private set; }

    public long Bytes => buffers.Sum(t => t.Bytes);

    /// <summary>True when <paramref name="rows"/> exceeds the capacity: the buffers are gone and must be allocated anew.</summary>
    public bool Reserve(long rows)
    {
        if (rows <= Capacity) return false;
        Free();
        Capacity = rows;
        return true;
    }

    public Tensor Alloc(string name, long length, DType dtype = DType.F32)
    {
        var t = backend.Allocate(new Shape(checked((int)length)), $"{tag}.{name}", dtype);
        buffers.Add(t);
        return t;
    }

    /// <summary>A view of the first elements of a buffer, shaped for one call.</summary>
    public static Tensor View(Tensor t, params int[] dims) => t.View(0, new Shape(dims));

    private void Free()
    {
        foreach (var t in buffers) t.Dispose();
        buffers.Clear();
        Capacity = 0;
    }

    public void Dispose() => Free();
}
