using System.Diagnostics;
using System.Runtime.InteropServices;
using Xunit;

namespace BayesPfl.Tests.Emu;

/// <summary>
/// What one emulated CUDA thread costs. With one worker the calling thread runs every block, so its CPU
/// time is the emulator's cost undisturbed by other processes on a shared machine; wall times are printed too.
/// </summary>
public partial class EmuCostTests(ITestOutputHelper output)
{
    [Fact]
    public void ATrivialKernelCostsWellUnderAMicrosecondPerThread()
    {
        using var t = new EmuTestGpu();
        const int N = 1 << 20;
        var buf = t.Alloc<float>(N);
        t.Launch("emutest_iota", N / 256, 256, a => a.Ptr(buf).Int(N));  // warm: stacks, pool threads
        t.Gpu.Workers = 1;
        var (cpu, wall) = Measure(() => t.Launch("emutest_iota", N / 256, 256, a => a.Ptr(buf).Int(N)));
        output.WriteLine($"trivial kernel, {N} threads, 1 worker: {cpu / N:F0} ns CPU, {wall / N:F0} ns wall per CUDA thread");
        Assert.Equal(N - 1, t.Download<float>(buf, N)[N - 1]);
        // About 30 ns on a 2020s x86 core; 1 us would mean a syscall per switch (glibc swapcontext) or worse.
        Assert.True(cpu / N < 1000, $"{cpu / N:F0} ns of CPU per CUDA thread");
    }

    [Fact]
    public void ABarrierCostsWellUnderAMicrosecondPerThread()
    {
        using var t = new EmuTestGpu();
        const int Blocks = 64, Threads = 1024, Barriers = 11;  // emutest_scan: log2(1024) rounds + 1
        var scan = t.Alloc<float>(Blocks * Threads);
        var input = t.Upload(new float[Blocks * Threads]);
        t.Gpu.Workers = 1;
        var (cpu, wall) = Measure(() => t.Launch("emutest_scan", Blocks, Threads, a => a.Ptr(scan).Ptr(input)));
        const double Events = (double)Blocks * Threads * Barriers;
        output.WriteLine($"scan, {Blocks * Threads} threads x {Barriers} __syncthreads, 1 worker: {cpu / Events:F0} ns CPU, {wall / Events:F0} ns wall per thread and barrier");
        // About 60-70 ns (two fiber switches, with 1024 stacks cycling through the caches).
        Assert.True(cpu / Events < 1000, $"{cpu / Events:F0} ns of CPU per thread and barrier");
    }

    private static (double CpuNs, double WallNs) Measure(Action run)
    {
        var cpu0 = ThreadCpuNs();
        var wall = Stopwatch.StartNew();
        run();
        return (ThreadCpuNs() - cpu0, wall.Elapsed.TotalNanoseconds);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private const int ClockThreadCpuTimeId = 3;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec ts);

    private static double ThreadCpuNs()
    {
        if (ClockGetTime(ClockThreadCpuTimeId, out var ts) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return ts.Seconds * 1e9 + ts.Nanoseconds;
    }
}
