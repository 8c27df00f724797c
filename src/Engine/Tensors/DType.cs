namespace BayesPfl.Engine.Tensors;

/// <summary>
/// Element type of a tensor. F32 everywhere; BF16 (bfloat16: the top 16 bits of an fp32, rounded to nearest even)
/// is the storage of the bf16 precision mode: GEMM weights and the operands of tensor-core GEMMs, never
/// accumulators. Ops that take BF16 say so; every other op rejects it. On the CPU a BF16 tensor stores its
/// values as floats that are exactly representable in bf16 (a reference, not a memory saving).
/// </summary>
public enum DType
{
    F32,
    BF16,
}

public static class DTypeExtensions
{
    public static int Size(this DType t) => t switch
    {
        DType.F32 => 4,
        DType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };
}
