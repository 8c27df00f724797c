using BayesPfl.Host;
using BayesPfl.KernelEmu;

namespace BayesPfl.Tests.Emu;

/// <summary>An EmuGpu with one-line upload/download/launch helpers for the emulator's self-tests.</summary>
internal sealed class EmuTestGpu : IDisposable
{
    public EmuGpu Gpu { get; } = new();

    public DevicePtr Upload<T>(params T[] values) where T : unmanaged
    {
        var p = Gpu.Allocate((long)values.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        Gpu.CopyToDevice<T>(p, values);
        return p;
    }

    /// <summary>A fresh buffer of n elements; the emulator fills it with 0xFF bytes (NaN as float, -1 as int).</summary>
    public DevicePtr Alloc<T>(int n) where T : unmanaged => Gpu.Allocate((long)n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());

    public T[] Download<T>(DevicePtr p, int n) where T : unmanaged
    {
        var host = new T[n];
        Gpu.CopyToHost<T>(host, p);
        return host;
    }

    public void Launch(string kernel, Dim3 grid, Dim3 block, Action<KernelArgs> args, int smem = 0)
    {
        using var a = new KernelArgs();
        args(a);
        Gpu.Launch(kernel, grid, block, smem, a);
    }

    public void Dispose()
    {
        Gpu.CheckGuards();
        Gpu.Dispose();
    }
}
