using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.KernelEmu;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Emu;

/// <summary>
/// End to end through the real CudaBackend launchers and src/Kernels on the emulator, against the CPU
/// reference. The op families test their kernels in depth; this only proves the plumbing (launch shapes,
/// dynamic shared memory, GEMM) on hostile shapes, so a broken emulator is caught here first.
/// </summary>
public class EmuBackendTests
{
    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static float[] Run(IBackend be, Func<IBackend, Tensor> op)
    {
        var y = op(be);
        var host = new float[y.Length];
        be.Download(y, host);
        return host;
    }

    private static Tensor Input(IBackend be, string name, int[] shape, int seed)
    {
        var t = be.Allocate(shape, name);
        be.Upload(t, Random((int)t.Length, seed));
        return t;
    }

    private static void Compare(string name, Func<IBackend, Tensor> op)
    {
        using var emu = TestBackends.Emulated();
        var expected = Run(TestBackends.Cpu(), op);
        var actual = Run(emu, op);
        // fp32 on both sides with different summation orders over at most a few hundred O(1) terms.
        TensorAssert.Close(name, actual, expected, 1e-5, 1e-4);
        ((EmuGpu)emu.Gpu).CheckGuards();
    }

    [Fact]
    public void LayerNorm() => Compare("layernorm", be =>
    {
        var x = Input(be, "x", [7, 33], 1);
        var y = be.Allocate(new(7, 33), "y");
        be.LayerNorm(y, be.Allocate(new(7), "mean"), be.Allocate(new(7), "rstd"), x, Input(be, "g", [33], 2), Input(be, "b", [33], 3), 1e-5f);
        return y;
    });

    [Fact]
    public void Softmax() => Compare("softmax", be =>
    {
        var y = be.Allocate(new(5, 257), "y");
        be.Softmax(y, Input(be, "x", [5, 257], 4));
        return y;
    });

    [Fact]
    public void Linear() => Compare("linear", be =>
    {
        var y = be.Allocate(new(7, 5), "y");
        be.Linear(y, Input(be, "x", [7, 33], 5), Input(be, "w", [5, 33], 6), Input(be, "b", [5], 7));
        return y;
    });

    [Fact]
    public void CausalAttention() => Compare("attention", be =>
    {
        var o = be.Allocate(new(2, 7, 2 * 24), "o");
        be.Attention(o, be.Allocate(new(2, 2, 7), "lse"), Input(be, "q", [2, 7, 48], 8), Input(be, "k", [2, 7, 48], 9), Input(be, "v", [2, 7, 48], 10),
            2, causal: true, scale: 0.2f);
        return o;
    });
}
