using BayesPfl.Host;

namespace BayesPfl.KernelEmu;

/// <summary>
/// IGpu over the kernel emulator (src/Kernels/*.cu compiled with g++ against emu.h). Placeholder until the
/// emulator lands: constructing it throws.
/// </summary>
public sealed class EmuGpu : IGpu
{
    public EmuGpu() => throw new InvalidOperationException("the kernel emulator is not built yet");

    public string Description => "kernel emulator";

    public DevicePtr Allocate(long bytes) => throw new NotImplementedException();

    public void Free(DevicePtr ptr) => throw new NotImplementedException();

    public void CopyToDevice<T>(DevicePtr dst, ReadOnlySpan<T> src) where T : unmanaged => throw new NotImplementedException();

    public void CopyToHost<T>(Span<T> dst, DevicePtr src) where T : unmanaged => throw new NotImplementedException();

    public void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes) => throw new NotImplementedException();

    public void Memset(DevicePtr dst, byte value, long bytes) => throw new NotImplementedException();

    public void Launch(string kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, KernelArgs args) => throw new NotImplementedException();

    public void SgemmStridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda, long strideA,
        DevicePtr b, int ldb, long strideB, float beta, DevicePtr c, int ldc, long strideC, int batch) => throw new NotImplementedException();

    public void Synchronize()
    {
    }

    /// <summary>Throws if any guard byte around any live allocation was overwritten.</summary>
    public void CheckGuards()
    {
    }

    public void Dispose()
    {
    }
}
