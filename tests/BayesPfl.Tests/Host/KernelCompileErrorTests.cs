using BayesPfl.Host;
using Xunit;

namespace BayesPfl.Tests.Host;

public sealed class KernelCompileErrorTests
{
    private const string Broken = """
        #include "common.cuh"
        extern "C" __global__ void broken_forward(float* y, int n) {
            y[threadIdx.x] = undefined_symbol_xyz * 2.0f;
        }
        """;

    [Fact]
    public void BrokenSourceThrowsWithFileNameAndFullLog()
    {
        ProbeKernels.RequireNvrtc();
        var compiler = new KernelCompiler(ProbeKernels.With(("broken.cu", Broken)), cacheDirectory: "");

        var e = Assert.Throws<KernelCompileException>(() => compiler.Compile("broken.cu", 90));

        Assert.Equal("broken.cu", e.File);
        Assert.Equal("sm_90", e.Target);
        Assert.Contains("broken.cu", e.Message);
        // NVRTC's own diagnostic, with the file and line it points at.
        Assert.Contains("undefined_symbol_xyz", e.Log);
        Assert.Contains("broken.cu(3)", e.Log);
        Assert.Contains(e.Log, e.Message);
        Assert.Contains("NVRTC_ERROR_COMPILATION", e.Message);
    }

    [Fact]
    public void MissingHeaderIsACompileErrorNamingTheHeader()
    {
        ProbeKernels.RequireNvrtc();
        var compiler = new KernelCompiler(ProbeKernels.With(("needs.cu", "#include \"absent.cuh\"\n")), cacheDirectory: "");

        var e = Assert.Throws<KernelCompileException>(() => compiler.Compile("needs.cu", 80));

        Assert.Contains("absent.cuh", e.Log);
    }

    [Fact]
    public void UnknownFileNamesTheAvailableOnes()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => new KernelCompiler(ProbeKernels.With(), cacheDirectory: "").Compile("nope.cu", 90));
        Assert.Contains("nope.cu", e.Message);
        Assert.Contains(ProbeKernels.File, e.Message);
    }
}
