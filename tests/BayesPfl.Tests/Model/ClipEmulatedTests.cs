using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

/// <summary>
/// The towers through the real CudaBackend launchers and kernels, run by the kernel emulator. The emulator
/// costs microseconds per CUDA thread, so these use the smallest shapes that still exercise every op.
/// </summary>
public class ClipEmulatedTests
{
    // The kernels reduce in a different order from both PyTorch and the CPU reference (warp shuffles,
    // tiled online softmax), still in fp32: the same few-ulp-per-op argument as VisionTowerTests.Atol holds.
    private const double Atol = VisionTowerTests.Atol;
    private const double Rtol = VisionTowerTests.Rtol;

    [Theory]
    [InlineData("erf")]
    [InlineData("quick")]
    public void VisionTowerMatchesTheOracle(string gelu)
    {
        using var c = ClipCase.Create(TestBackends.Emulated(),
            "--image", "28", "--patch", "14", "--width", "64", "--heads", "2", "--layers", "2", "--taps", "2,1", "--batch", "2", "--gelu", gelu,
            "--text-layers", "1");
        VisionTowerTests.CheckAgainstOracle(c, $"emulated {gelu}", Atol, Rtol);
    }

    [Fact]
    public void TextTowerMatchesTheOracleForTokenAndSplicedPrompts()
    {
        using var c = ClipCase.Create(TestBackends.Emulated(),
            "--layers", "1", "--text-layers", "2", "--text-width", "64", "--text-heads", "2", "--prompts", "3", "--spliced", "2", "--inject-len", "4",
            "--name-len", "1");
        TextTowerTests.CheckTokenPrompts(c, "emulated", Atol, Rtol);
        TextTowerTests.CheckSplicedPrompts(c, "emulated", Atol, Rtol);
    }
}
