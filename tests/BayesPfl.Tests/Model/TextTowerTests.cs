using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

public class TextTowerTests(ITestOutputHelper output)
{
    // Same reasoning as VisionTowerTests.Atol: fp32 vs fp32, only summation order differs, <= 3 blocks.
    private const double Atol = VisionTowerTests.Atol;
    private const double Rtol = VisionTowerTests.Rtol;
    private const double MaxNmse = VisionTowerTests.MaxNmse;

    private static readonly string[] Small = ["--layers", "1", "--text-layers", "2", "--text-width", "64", "--text-heads", "2", "--vocab", "500", "--embed", "48"];

    [Theory]
    [InlineData("erf")]
    [InlineData("quick")]
    public void TokenPromptsMatchTheOracle(string gelu)
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), [.. Small, "--gelu", gelu, "--prompts", "5"]);
        CheckTokenPrompts(c, gelu, log: output.WriteLine);
    }

    [Fact]
    public void APromptThatFillsTheContextMatchesTheOracle()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), [.. Small, "--prompts", "3", "--long-prompt"]);
        CheckTokenPrompts(c, "long", log: output.WriteLine);
    }

    internal static void CheckTokenPrompts(ClipCase c, string label, double atol = Atol, double rtol = Rtol, Action<string>? log = null)
    {
        using var tower = new TextTower(c.Backend, c.Weights);
        using var features = tower.Encode(c.Ints("in.ids"));
        ClipCase.Compare($"{label} text features", c.Download(features), c.Floats("out.text"), atol, rtol, MaxNmse, log);
    }

    [Theory]
    [InlineData("erf", 10, 3)]
    [InlineData("quick", 4, 1)]
    public void SplicedPromptsMatchTheOracle(string gelu, int injectLen, int nameLen)
    {
        using var c = ClipCase.Create(TestBackends.Cpu(),
            [.. Small, "--gelu", gelu, "--spliced", "6", "--inject-len", $"{injectLen}", "--name-len", $"{nameLen}"]);
        CheckSplicedPrompts(c, $"{gelu} J={injectLen}", log: output.WriteLine);
    }

    internal static void CheckSplicedPrompts(ClipCase c, string label, double atol = Atol, double rtol = Rtol, Action<string>? log = null)
    {
        using var tower = new TextTower(c.Backend, c.Weights);
        using var inject = c.Upload("in.inject");
        using var features = tower.EncodeSpliced(c.Ints("in.splice_ids"), inject);
        ClipCase.Compare($"{label} spliced text features", c.Download(features), c.Floats("out.text_spliced"), atol, rtol, MaxNmse, log);
    }

    [Fact]
    public void EotTruncationEqualsTheFullContextRun()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), [.. Small, "--prompts", "4", "--spliced", "3"]);
        using var tower = new TextTower(c.Backend, c.Weights);
        using var inject = c.Upload("in.inject");
        var ids = c.Ints("in.ids");
        var spliceIds = c.Ints("in.splice_ids");

        using var shortTokens = tower.Encode(ids);
        using var shortSpliced = tower.EncodeSpliced(spliceIds, inject);
        tower.Truncate = false;
        using var fullTokens = tower.Encode(ids);
        using var fullSpliced = tower.EncodeSpliced(spliceIds, inject);

        // Under the causal mask the rows up to EOT see exactly the same keys in both runs, and every CPU op is
        // row-independent, so the truncated run must reproduce the full one bit for bit.
        TensorAssert.BitwiseEqual("token prompts, truncated vs 77", c.Download(shortTokens), c.Download(fullTokens));
        TensorAssert.BitwiseEqual("spliced prompts, truncated vs 77", c.Download(shortSpliced), c.Download(fullSpliced));
    }

    [Fact]
    public void GivenEotIndicesOverrideTheArgmax()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), [.. Small, "--prompts", "2"]);
        using var tower = new TextTower(c.Backend, c.Weights);
        var ids = c.Ints("in.ids");
        var eots = Enumerable.Range(0, 2).Select(i => Array.IndexOf(ids, ids.Skip(i * 77).Take(77).Max(), i * 77) - i * 77).ToArray();
        using var byArgmax = tower.Encode(ids);
        using var byIndex = tower.Encode(ids, eots);
        TensorAssert.BitwiseEqual("explicit EOT", c.Download(byIndex), c.Download(byArgmax));
        using var earlier = tower.Encode(ids, eots.Select(e => e - 1).ToArray());
        Assert.NotEqual(c.Download(byArgmax), c.Download(earlier));
    }

    [Fact]
    public void RejectsPromptsThatCannotBeEncoded()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), [.. Small, "--spliced", "2", "--inject-len", "10"]);
        using var tower = new TextTower(c.Backend, c.Weights);
        using var inject = c.Upload("in.inject");
        var ids = c.Ints("in.splice_ids");

        var bad = (int[])ids.Clone();
        bad[3] = 500;
        Assert.Contains("token id 500 at position 3", Assert.Throws<ArgumentException>(() => tower.EncodeSpliced(bad, inject)).Message);

        // EOT at 70 moves to 79 after splicing 10 vectors: past the 77-token context.
        var tooLong = new int[77];
        tooLong[0] = 498;
        for (var s = 1; s < 70; s++) tooLong[s] = 7;
        tooLong[70] = 499;
        Assert.Contains("EOT at 70 becomes 79", Assert.Throws<ArgumentException>(() => tower.EncodeSpliced(tooLong, inject)).Message);

        using var narrow = c.Backend.Allocate(new Shape(2, 10, 32), "narrow_inject");
        Assert.Contains("narrow_inject", Assert.Throws<ArgumentException>(() => tower.EncodeSpliced(ids, narrow)).Message);
        Assert.Contains("expected n x 77", Assert.Throws<ArgumentException>(() => tower.Encode(ids.AsSpan(0, 70))).Message);
    }
}
