using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// A tensor in managed memory: a window [Offset, Offset+Length) of a float array. A BF16 tensor keeps floats that
/// are exactly bf16 values (<see cref="CastReference"/> rounds whatever is written through the backend).
/// </summary>
public sealed class CpuTensor : Tensor
{
    private readonly CpuBackend backend;

    internal CpuTensor(CpuBackend backend, string name, Shape shape, DType dtype, float[] storage, long offset)
        : base(name, shape, dtype)
    {
        if (offset < 0 || offset + shape.Length > storage.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{name}: view [{offset}, {offset + shape.Length}) outside storage of {storage.Length}");
        this.backend = backend;
        Storage = storage;
        Offset = (int)offset;
    }

    public override IBackend Backend => backend;

    public float[] Storage { get; }

    public int Offset { get; }

    public Span<float> Span => Storage.AsSpan(Offset, checked((int)Length));

    public override Tensor View(long offset, Shape shape, string? name = null)
    {
        if (offset < 0 || offset + shape.Length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{Name}: view [{offset}, {offset + shape.Length}) outside {Shape}");
        return new CpuTensor(backend, name ?? Name, shape, DType, Storage, Offset + offset);
    }

    public override void Dispose()
    {
        // Managed storage: the GC reclaims it.
    }
}
