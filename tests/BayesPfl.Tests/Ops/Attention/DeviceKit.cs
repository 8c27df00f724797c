using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;
using BayesPfl.Host;
using BayesPfl.KernelEmu;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Ops.Attention;

/// <summary>Moving test data to and from a backend, and the CUDA backends the op tests run on.</summary>
public static class DeviceKit
{
    public static Tensor Put(IBackend be, string name, float[] data, params int[] shape)
    {
        var t = be.Allocate(new Shape(shape), name);
        be.Upload(t, data);
        return t;
    }

    /// <summary>A tensor filled with NaN: an op that must overwrite it and skips an element shows up as NaN.</summary>
    public static Tensor Poisoned(IBackend be, string name, params int[] shape)
    {
        var s = new Shape(shape);
        return Put(be, name, Enumerable.Repeat(float.NaN, checked((int)s.Length)).ToArray(), shape);
    }

    public static float[] Get(Tensor t)
    {
        var a = new float[t.Length];
        t.Backend.Download(t, a);
        return a;
    }

    /// <summary>Waits for the op; on the emulator also throws if it wrote outside its buffers (guard bytes).</summary>
    public static void AfterLaunch(IBackend be)
    {
        be.Synchronize();
        if (be is CudaBackend { Gpu: EmuGpu emu }) emu.CheckGuards();
    }

    /// <summary>The CUDA backend over the real GPU, or a skip (with the reason) when this machine has none.</summary>
    public static CudaBackend RealGpu()
    {
        var (backend, reason) = TestBackends.RealGpu();
        if (backend is null) Assert.Skip(reason);
        return backend;
    }

    /// <summary>Random values in [-scale, scale), reproducible from the seed.</summary>
    public static float[] Random(long n, int seed, float scale = 1f) => FiniteDiff.RandomFloats(checked((int)n), seed, scale);
}

/// <summary>
/// An IGpu that hands out fake addresses and refuses to launch anything: shape checks must reject bad
/// arguments before a launch, so a shape test that reaches Launch fails with "launched".
/// </summary>
public sealed class NoLaunchGpu : IGpu
{
    private ulong next = 0x1000;

    public string Description => "no-launch stub";

    public DevicePtr Allocate(long bytes)
    {
        var p = new DevicePtr(next);
        next += (ulong)((bytes + 255) / 256 * 256);
        return p;
    }

    public void Free(DevicePtr ptr)
    {
    }

    public void CopyToDevice<T>(DevicePtr dst, ReadOnlySpan<T> src) where T : unmanaged
    {
    }

    public void CopyToHost<T>(Span<T> dst, DevicePtr src) where T : unmanaged
    {
    }

    public void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes)
    {
    }

    public void Memset(DevicePtr dst, byte value, long bytes)
    {
    }

    public void Launch(string kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, KernelArgs args) =>
        throw new InvalidOperationException($"launched {kernel} although the arguments are invalid");

    public void SgemmStridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda, long strideA,
        DevicePtr b, int ldb, long strideB, float beta, DevicePtr c, int ldc, long strideC, int batch) =>
        throw new InvalidOperationException("launched a GEMM although the arguments are invalid");

    public void GemmBf16StridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda, long strideA,
        DevicePtr b, int ldb, long strideB, float beta, DevicePtr c, int ldc, long strideC, int batch) =>
        throw new InvalidOperationException("launched a bf16 GEMM although the arguments are invalid");

    public void Synchronize()
    {
    }

    public void Dispose()
    {
    }
}
