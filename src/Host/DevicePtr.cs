namespace BayesPfl.Host;

/// <summary>A raw device address (CUdeviceptr). On the kernel emulator it is a host address.</summary>
public readonly record struct DevicePtr(ulong Address)
{
    public static readonly DevicePtr Null = new(0);

    public bool IsNull => Address == 0;

    public static DevicePtr operator +(DevicePtr p, long bytes) => new(checked((ulong)((long)p.Address + bytes)));

    public override string ToString() => $"0x{Address:x}";
}

/// <summary>Grid or block extent, as in CUDA's dim3.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    public static implicit operator Dim3(int x) => new(checked((uint)x));

    public ulong Volume => (ulong)X * Y * Z;
}

/// <summary>cuBLAS operation on a column-major operand.</summary>
public enum GemmOp
{
    N = 0,
    T = 1,
}
