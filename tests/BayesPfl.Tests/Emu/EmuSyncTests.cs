using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Emu;

/// <summary>Barriers, shared memory, block reductions and atomics of the emulator (kernels in tests/KernelEmu/selftest/sync.cu).</summary>
public class EmuSyncTests
{
    [Fact]
    public void SyncthreadsOrdersSharedMemoryAcrossWarps()
    {
        using var t = new EmuTestGpu();
        const int Blocks = 3, N = 1024;
        var rng = new Random(1);
        var input = Enumerable.Range(0, Blocks * N).Select(_ => (float)rng.Next(10)).ToArray();
        var output = t.Alloc<float>(Blocks * N);
        t.Launch("emutest_scan", Blocks, N, a => a.Ptr(output).Ptr(t.Upload(input)));
        var expected = new float[Blocks * N];
        for (var b = 0; b < Blocks; b++)
            for (var i = 0; i < N; i++) expected[b * N + i] = (i == 0 ? 0 : expected[b * N + i - 1]) + input[b * N + i];
        Assert.Equal(expected, t.Download<float>(output, Blocks * N));  // small integers: exact in any order
    }

    [Theory]
    [InlineData(128, 257)]
    [InlineData(32, 7)]
    [InlineData(1024, 1370)]
    public void BlockSumAndBlockMaxOfCommonCuh(int threads, int cols)
    {
        using var t = new EmuTestGpu();
        const int Rows = 5;
        var rng = new Random(threads + cols);
        var x = Enumerable.Range(0, Rows * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var sums = t.Alloc<float>(Rows);
        var maxes = t.Alloc<float>(Rows);
        t.Launch("emutest_block_reduce", Rows, threads, a => a.Ptr(sums).Ptr(maxes).Ptr(t.Upload(x)).Int(cols));
        var rows = Enumerable.Range(0, Rows).Select(r => x.AsSpan(r * cols, cols).ToArray()).ToArray();
        // Up to 1370 values in [-1, 1] summed in float in a tree order: error well under 1e-4.
        TensorAssert.Close("block_sum", t.Download<float>(sums, Rows), rows.Select(r => (float)r.Sum(v => (double)v)).ToArray(), 1e-4, 0);
        Assert.Equal(rows.Select(r => r.Max()), t.Download<float>(maxes, Rows));
    }

    [Fact]
    public void ResultsAreBitwiseEqualForAnyWorkerCount()
    {
        using var t = new EmuTestGpu();
        const int Rows = 37, Cols = 333;
        var rng = new Random(5);
        var x = t.Upload(Enumerable.Range(0, Rows * Cols).Select(_ => (float)rng.NextDouble()).ToArray());
        float[] Run(int workers)
        {
            t.Gpu.Workers = workers;
            var sums = t.Alloc<float>(Rows);
            t.Launch("emutest_block_reduce", Rows, 96, a => a.Ptr(sums).Ptr(t.Alloc<float>(Rows)).Ptr(x).Int(Cols));
            return t.Download<float>(sums, Rows);
        }
        var one = Run(1);
        TensorAssert.BitwiseEqual("block sums, 3 vs 1 workers", Run(3), one);
        TensorAssert.BitwiseEqual("block sums, rerun", Run(3), one);
    }

    [Theory]
    [InlineData(5, 20, 0, 1)]
    [InlineData(1, 96, 1, 1)]
    [InlineData(97, 1, 0, 1)]
    public void SyncthreadsCountAndOr(int k, int count, int all, int any)
    {
        using var t = new EmuTestGpu();
        var output = t.Alloc<int>(3);
        t.Launch("emutest_sync_flavours", 1, 96, a => a.Ptr(output).Int(k));
        Assert.Equal([count, all, any], t.Download<int>(output, 3));
    }

    [Fact]
    public void AtomicsAreAtomicAcrossBlocksOnSeveralWorkers()
    {
        using var t = new EmuTestGpu();
        t.Gpu.Workers = 4;
        const int Blocks = 64, Threads = 128, N = Blocks * Threads;
        var counter = t.Upload(0);
        var maxId = t.Upload(-1);
        var minId = t.Upload(int.MaxValue);
        var fsum = t.Upload(0f);
        var cas = t.Upload(0u);
        var ucount = t.Upload(0u);
        t.Launch("emutest_atomics", Blocks, Threads, a => a.Ptr(counter).Ptr(maxId).Ptr(minId).Ptr(fsum).Ptr(cas).Ptr(ucount));
        Assert.Equal(N, t.Download<int>(counter, 1)[0]);
        Assert.Equal(N - 1, t.Download<int>(maxId, 1)[0]);
        Assert.Equal(0, t.Download<int>(minId, 1)[0]);
        Assert.Equal(N / 4 * 6f, t.Download<float>(fsum, 1)[0]);  // sum of id % 4: small integers, exact in any order
        Assert.Equal((uint)N, t.Download<uint>(cas, 1)[0]);
        Assert.Equal(2u * N, t.Download<uint>(ucount, 1)[0]);
    }

    [Fact]
    public void StaticSharedMemoryStartsAsNaN()
    {
        using var t = new EmuTestGpu();
        var first = t.Alloc<float>(64);
        var output = t.Alloc<float>(64);
        t.Launch("emutest_static_smem_unwritten", 1, 64, a => a.Ptr(first).Ptr(output));
        Assert.All(t.Download<uint>(first, 64), bits => Assert.Equal(0xffffffffu, bits));
        Assert.Equal(Enumerable.Range(0, 64).Select(i => 63f - i), t.Download<float>(output, 64));
    }

    [Fact]
    public void DynamicSharedMemoryStartsAsNaNAndHoldsTheLaunchSize()
    {
        using var t = new EmuTestGpu();
        const int N = 100;
        var input = Enumerable.Range(0, N).Select(i => i * 1.5f).ToArray();
        var output = t.Alloc<float>(N);
        var first = t.Alloc<float>(N);
        t.Launch("emutest_dynamic_smem", 2, 128, a => a.Ptr(output).Ptr(first).Ptr(t.Upload(input)).Int(N), smem: N * sizeof(float));
        Assert.All(t.Download<uint>(first, N), bits => Assert.Equal(0xffffffffu, bits));
        Assert.Equal(input.Reverse(), t.Download<float>(output, N));
    }
}
