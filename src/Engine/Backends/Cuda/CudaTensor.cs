using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

/// <summary>A tensor in device memory. The root tensor owns its allocation; views borrow it.</summary>
public sealed class CudaTensor : Tensor
{
    private readonly CudaBackend backend;
    private readonly bool ownsMemory;
    private bool disposed;

    internal CudaTensor(CudaBackend backend, string name, Shape shape, DType dtype, DevicePtr ptr, bool ownsMemory)
        : base(name, shape, dtype)
    {
        this.backend = backend;
        Ptr = ptr;
        this.ownsMemory = ownsMemory;
    }

    public override IBackend Backend => backend;

    public DevicePtr Ptr { get; }

    public override Tensor View(long offset, Shape shape, string? name = null)
    {
        if (offset < 0 || offset + shape.Length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{Name}: view [{offset}, {offset + shape.Length}) outside {Shape}");
        return new CudaTensor(backend, name ?? Name, shape, DType, Ptr + offset * DType.Size(), ownsMemory: false);
    }

    public override void Dispose()
    {
        if (disposed || !ownsMemory) return;
        disposed = true;
        backend.Gpu.Free(Ptr);
    }
}
