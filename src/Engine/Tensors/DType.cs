namespace BayesPfl.Engine.Tensors;

/// <summary>Element type of a tensor. Only F32 is computed today; BF16 is reserved for the tensor-core path.</summary>
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
