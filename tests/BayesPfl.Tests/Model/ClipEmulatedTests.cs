using BayesPfl.Engine.Model;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

/// <summary>
/// The towers through the real CudaBackend launchers and kernels, run by the kernel emulator. The emulator
/// costs microseconds per CUDA thread, so these use the smallest shapes that still exercise every op.
/// </summary>
public class ClipEmulatedTests(ITestOutputHelper output)
{
    // The kernels reduce in a different order from both PyTorch and the CPU reference (warp shuffles,
    // tiled online softmax), still in fp32: the same few-ulp-per-op argument as VisionTowerTests.Atol holds.
    private const double Atol = VisionTowerTests.Atol;
    private const double Rtol = VisionTowerTests.Rtol;

    private static readonly string[] TinyText =
        ["--layers", "1", "--text-layers", "2", "--text-width", "64", "--text-heads", "2", "--inject-len", "4", "--name-len", "1"];

    [Theory]
    [InlineData("erf")]
    [InlineData("quick")]
    public void VisionTowerMatchesTheOracle(string gelu)
    {
        using var c = ClipCase.Create(TestBackends.Emulated(),
            "--image", "28", "--patch", "14", "--width", "64", "--heads", "2", "--layers", "2", "--taps", "2,1", "--batch", "2", "--gelu", gelu,
            "--text-layers", "1");
        VisionTowerTests.CheckAgainstOracle(c, $"emulated {gelu}", Atol, Rtol, log: output.WriteLine);
    }

    [Fact]
    public void ABatchOfThreeAgreesWithThreeBatchesOfOne()
    {
        using var c = ClipCase.Create(TestBackends.Emulated(),
            "--image", "28", "--patch", "14", "--width", "64", "--heads", "2", "--layers", "1", "--taps", "1", "--batch", "3", "--text-layers", "1");
        // A GPU GEMM library may choose another algorithm for another row count, so within fp32 noise (see Atol).
        VisionTowerTests.CheckBatchEqualsSingles(c, (name, alone, inBatch) =>
            ClipCase.Compare("emulated " + name, alone, inBatch, Atol, Rtol, VisionTowerTests.MaxNmse, output.WriteLine));
    }

    [Fact]
    public void TextTowerMatchesTheOracleForTokenAndSplicedPrompts()
    {
        using var c = ClipCase.Create(TestBackends.Emulated(), [.. TinyText, "--prompts", "3", "--spliced", "2"]);
        TextTowerTests.CheckTokenPrompts(c, "emulated", Atol, Rtol, output.WriteLine);
        TextTowerTests.CheckSplicedPrompts(c, "emulated", Atol, Rtol, output.WriteLine);
    }

    [Fact]
    public void EotTruncationAgreesWithTheFullContextRun()
    {
        using var c = ClipCase.Create(TestBackends.Emulated(), [.. TinyText, "--spliced", "2"]);
        using var tower = new TextTower(c.Backend, c.Weights);
        using var inject = c.Upload("in.inject");
        var ids = c.Ints("in.splice_ids");
        using var truncated = tower.EncodeSpliced(ids, inject);
        tower.Truncate = false;
        using var full = tower.EncodeSpliced(ids, inject);
        // On a GPU the GEMM library may pick another algorithm for another row count, so the two runs are
        // compared within fp32 summation-order noise (see Atol) rather than bit for bit as on the CPU.
        ClipCase.Compare("emulated spliced, truncated vs 77", c.Download(truncated), c.Download(full), Atol, Rtol, VisionTowerTests.MaxNmse, output.WriteLine);
    }
}
