using System.Diagnostics;
using BayesPfl.Engine.Model;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

/// <summary>The image tower at the production shape: ViT-L/14 at 518 px (1370 tokens, 24 blocks, width 1024).</summary>
public class ClipFullSizeTests(ITestOutputHelper output)
{
    // fp32 vs fp32 over 24 blocks with K up to 4096: the residual stream grows to O(10..30) with random
    // weights and each GEMM's summation order differs, so errors grow roughly with depth. Measured max abs
    // error on the taps: see the report in the test output; 1e-3 + 1e-4·|ref| is ~10x above it, while a wrong
    // op anywhere moves values by O(0.1) or more.
    private const double Atol = 1e-3;
    private const double Rtol = 1e-4;
    private const double MaxNmse = 1e-9;

    [Fact]
    [Trait("Category", "Slow")]
    public void VitL14At518MatchesTheOracleOnAllTapsAndTheGlobalEmbedding()
    {
        var v = ClipConfig.VitL14At518.Vision;
        var clock = Stopwatch.StartNew();
        // Full vision tower; the text tower is kept tiny because this test is about the image path.
        using var c = ClipCase.Create(TestBackends.Cpu(),
            "--image", $"{v.ImageSize}", "--patch", $"{v.Patch}", "--width", $"{v.Width}", "--layers", $"{v.Layers}", "--heads", $"{v.Heads}",
            "--embed", "768", "--taps", "6,12,18,24", "--batch", "1", "--text-layers", "1");
        Assert.Equal(ClipConfig.VitL14At518.Vision, c.Config.Vision);
        var oracleSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        VisionTowerTests.CheckAgainstOracle(c, "ViT-L/14@518", Atol, Rtol, MaxNmse, output.WriteLine);
        output.WriteLine($"oracle + load {oracleSeconds:F1} s, engine forward + compare {clock.Elapsed.TotalSeconds:F1} s");
    }
}
