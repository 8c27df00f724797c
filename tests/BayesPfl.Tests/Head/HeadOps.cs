using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Head;

/// <summary>Upload / run / download helpers shared by the head tests.</summary>
internal static class HeadOps
{
    public static Tensor Put(IBackend be, string name, float[] data, params int[] dims)
    {
        var t = be.Allocate(new Shape(dims), name);
        be.Upload(t, data);
        return t;
    }

    public static float[] Get(IBackend be, Tensor t)
    {
        be.Synchronize();
        var host = new float[t.Length];
        be.Download(t, host);
        return host;
    }

    /// <summary>"cpu", "emu" (CUDA launchers over the kernel emulator) or "gpu" (a real device; skips without one).</summary>
    public static IBackend Backend(string name) => name switch
    {
        "cpu" => TestBackends.Cpu(),
        "emu" => TestBackends.Emulated(),
        _ => TestBackends.RealGpu() is ({ } gpu, _) ? gpu : throw Skip(),
    };

    private static Exception Skip()
    {
        Assert.Skip(TestBackends.RealGpu().Reason);
        return new InvalidOperationException("unreachable");
    }

    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);
}
