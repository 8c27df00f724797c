using BayesPfl.Host;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Host;

/// <summary>CudaGpu on a real device: memory, copies, launches of the probe kernels, cuBLAS. Skipped without a GPU.</summary>
public sealed class CudaGpuTests : IDisposable
{
    private readonly CudaGpu gpu;

    public CudaGpuTests()
    {
        if (!Cuda.IsAvailable) Assert.Skip($"no CUDA device: {Cuda.UnavailableReason}");
        gpu = new CudaGpu(ProbeKernels.With());
    }

    public void Dispose() => gpu?.Dispose();

    [Fact]
    public void DescriptionNamesDeviceArchMemoryAndDriver()
    {
        Assert.Matches(@"^.+ \(sm_\d+, \d+\.\d GiB, driver \d+\.\d+\)$", gpu.Description);
    }

    [Fact]
    public void ScaleKernelRoundTripsBitwise()
    {
        const int n = 1370;
        var x = Enumerable.Range(0, n).Select(i => MathF.Sin(i) * 3).ToArray();
        var (dx, dy) = (gpu.Allocate(n * 4L), gpu.Allocate(n * 4L));
        gpu.CopyToDevice<float>(dx, x);
        using var args = new KernelArgs().Ptr(dy).Ptr(dx).Float(-1.5f).Int(n);
        gpu.Launch("scale_forward", (n + 255) / 256, 256, 0, args);
        var y = new float[n];
        gpu.CopyToHost<float>(y, dy);

        // One IEEE multiply per element on both sides: bitwise equal.
        Assert.Equal(x.Select(v => -1.5f * v), y);
        gpu.Free(dx);
        gpu.Free(dy);
        Assert.Equal(0, gpu.AllocatedBytes);
    }

    [Theory]
    [InlineData(1, 1, 0)]
    [InlineData(7, 1370, 0)]
    [InlineData(3, 577, 64 * 1024)]
    public void RowSumUsesDynamicSharedMemory(int rows, int cols, int extraShared)
    {
        var x = Enumerable.Range(0, rows * cols).Select(i => (i % 17) - 8.25f).ToArray();
        var (dx, dsums) = (gpu.Allocate(x.Length * 4L), gpu.Allocate(rows * 4L));
        gpu.CopyToDevice<float>(dx, x);
        const int threads = 128;
        // extraShared > 48 KiB exercises the opt-in for large dynamic shared memory.
        using var args = new KernelArgs().Ptr(dsums).Ptr(dx).Int(cols);
        gpu.Launch("rowsum_forward", rows, threads, threads / 32 * 4 + extraShared, args);
        var sums = new float[rows];
        gpu.CopyToHost<float>(sums, dsums);

        for (var r = 0; r < rows; r++)
        {
            var expected = x.AsSpan(r * cols, cols).ToArray().Sum(v => (double)v);
            // Every value is a multiple of 1/4 below 2^21 in magnitude, so fp32 sums are exact in any order.
            Assert.Equal(expected, sums[r]);
        }
        gpu.Free(dx);
        gpu.Free(dsums);
    }

    [Fact]
    public void MemsetAndDeviceCopyTouchOnlyTheirRange()
    {
        var p = gpu.Allocate(64);
        gpu.Memset(p, 0xAB, 64);
        gpu.Memset(p + 8, 0x00, 16);
        var q = gpu.Allocate(64);
        gpu.CopyDeviceToDevice(q, p, 64);
        var bytes = new byte[64];
        gpu.CopyToHost<byte>(bytes, q);

        Assert.Equal(Enumerable.Range(0, 64).Select(i => i is >= 8 and < 24 ? (byte)0 : (byte)0xAB), bytes);
        gpu.Free(p);
        gpu.Free(q);
    }

    [Fact]
    public void SgemmStridedBatchedMatchesAColumnMajorReference()
    {
        const int m = 33, n = 7, k = 197, batch = 3;
        var rng = new Random(5);
        var a = Enumerable.Range(0, m * k * batch).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var b = Enumerable.Range(0, k * n * batch).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var (da, db, dc) = (gpu.Allocate(a.Length * 4L), gpu.Allocate(b.Length * 4L), gpu.Allocate(m * n * batch * 4L));
        gpu.CopyToDevice<float>(da, a);
        gpu.CopyToDevice<float>(db, b);
        // C = A^T B with A stored k x m (lda = k): exercises a transposed operand.
        gpu.SgemmStridedBatched(GemmOp.T, GemmOp.N, m, n, k, 2f, da, k, m * k, db, k, k * n, 0f, dc, m, m * n, batch);
        var c = new float[m * n * batch];
        gpu.CopyToHost<float>(c, dc);

        for (var i = 0; i < batch; i++)
            for (var col = 0; col < n; col++)
                for (var row = 0; row < m; row++)
                {
                    double dot = 0;
                    for (var p = 0; p < k; p++) dot += a[i * m * k + row * k + p] * (double)b[i * k * n + col * k + p];
                    // fp32 accumulation over k = 197 products of magnitude <= 0.25: error well under 1e-5;
                    // TF32 (10-bit mantissa) would miss this by ~1e-3, so the bound also proves fp32 math.
                    Assert.True(Math.Abs(2 * dot - c[i * m * n + col * m + row]) < 1e-4, $"batch {i} C[{row},{col}]");
                }
        gpu.Free(da);
        gpu.Free(db);
        gpu.Free(dc);
    }

    [Fact]
    public void BadLaunchNamesTheKernelAndTheStatus()
    {
        using var args = new KernelArgs().Ptr(DevicePtr.Null).Ptr(DevicePtr.Null).Float(1).Int(0);
        var e = Assert.Throws<CudaException>(() => gpu.Launch("scale_forward", 1, 4096, 0, args));
        Assert.Contains("scale_forward", e.Message);
        Assert.Contains("CUDA_ERROR_INVALID_VALUE", e.Message);
    }

    [Fact]
    public void FreeingAForeignPointerIsRefused()
    {
        Assert.Throws<ArgumentException>(() => gpu.Free(new DevicePtr(0x1234)));
    }

    [Fact]
    public void EventTimingMeasuresQueuedWork()
    {
        var p = gpu.Allocate(1 << 26);
        var ms = gpu.TimeMilliseconds(() => gpu.Memset(p, 1, 1 << 26));
        Assert.InRange(ms, 0f, 1000f);
        gpu.Free(p);
    }

    [Fact]
    public void EveryEngineKernelCompilesAndLoadsForThisDevice()
    {
        var (backend, reason) = TestBackends.RealGpu();
        Assert.True(backend is not null, reason);
        var real = Assert.IsType<CudaGpu>(backend.Gpu);
        real.Preload();
    }
}
