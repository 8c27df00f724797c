using System.Text;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Host;
using Xunit;

namespace BayesPfl.Tests.Host;

/// <summary>
/// Every kernel file compiles with NVRTC for the GPUs we target (A100 sm_80, H100/H200 sm_90) and the
/// compiled image contains every extern "C" kernel the file declares. Runs in CI: NVRTC needs no GPU.
/// </summary>
public sealed class NvrtcCompileTests
{
    public static readonly int[] Archs = [80, 90];

    /// <summary>(set, file, arch): every engine .cu, found at run time, plus the tests' own probe.cu.</summary>
    public static TheoryData<string, string, int> Files()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var arch in Archs)
        {
            foreach (var f in EngineKernels.Sources.KernelFiles) data.Add("engine", f, arch);
            data.Add("probe", ProbeKernels.File, arch);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Compiles(string set, string file, int arch)
    {
        ProbeKernels.RequireNvrtc();
        var sources = set == "engine" ? EngineKernels.Sources : ProbeKernels.With();
        // No cache: this test is about NVRTC accepting the source today, not about an old result.
        var compiled = new KernelCompiler(sources, cacheDirectory: "").Compile(file, arch);

        Assert.Equal(KernelCacheOutcome.Compiled, compiled.Cache);
        Assert.NotEmpty(compiled.Image);
        if (compiled.IsCubin) Assert.True(compiled.Image.AsSpan(0, 4).SequenceEqual("\u007fELF"u8), $"{file}: CUBIN is not an ELF image");
        var text = Encoding.Latin1.GetString(compiled.Image);
        foreach (var kernel in sources.Kernels.Where(k => sources.FileOf(k) == file))
            Assert.True(text.Contains(kernel, StringComparison.Ordinal), $"{file} for sm_{arch}: kernel {kernel} is missing from the {compiled.Target} image");
    }

    [Fact]
    public void ProbeDeclaresTheKernelsTheGpuTestLaunches()
    {
        Assert.Equal(["rowsum_forward", "scale_forward"], ProbeKernels.With().Kernels.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void NvrtcReportsVersionAndTargetArchs()
    {
        ProbeKernels.RequireNvrtc();
        Assert.True(Nvrtc.Version >= new Version(11, 2), $"NVRTC {Nvrtc.Version} is older than the oldest supported (11.2)");
        foreach (var arch in Archs) Assert.Contains(arch, Nvrtc.SupportedArchs);
    }
}
