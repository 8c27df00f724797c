using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Validation;

/// <summary>`bayespfl validate` as a user runs it: the table, the exit codes, one line for unusable input.</summary>
public class ValidateCommandTests(DumpFixture fx) : IClassFixture<DumpFixture>
{
    [Fact]
    public void PassingDumpPrintsTheTableAndExitsZero()
    {
        var (exit, stdout, stderr) = CliProcess.Run("validate", "--reference", fx.TowersPath, "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        foreach (var name in new[] { "out.tap.1", "out.tap.3", "out.global", "out.text", "out.text_spliced" }) Assert.Contains(name, stdout);
        Assert.Contains("max abs", stdout);
        Assert.Contains("5 tensors pass", stdout);
        Assert.DoesNotContain("FAIL", stdout);
    }

    [Fact]
    public void CorruptedTensorExitsOneNamingIt()
    {
        var copy = DumpFixture.Copy(fx.TowersPath, tensor: "out.text", change: v => v[0] += 0.05f);
        var (exit, stdout, _) = CliProcess.Run("validate", "--reference", copy, "--clip", fx.ClipPath, "--device", "cpu");
        Assert.Equal(1, exit);
        Assert.Matches(@"FAIL out\.text: element 0: engine", stdout);
        Assert.Contains("1 of 5 tensors fail", stdout);
    }

    [Fact]
    public void WrongKindOfFileExitsTwoWithOneLine()
    {
        var (exit, stdout, stderr) = CliProcess.Run("validate", "--reference", fx.ClipPath, "--device", "cpu");
        Assert.Equal(2, exit);
        Assert.Equal($"bayespfl validate: {fx.ClipPath} is a CLIP engine file (bayespfl-clip/1), not a reference dump: give it with --clip and the dump with --reference",
            stderr.Trim());
        Assert.Empty(stdout);

        (exit, _, stderr) = CliProcess.Run("validate", "--reference", Path.Combine(Repo.TempDir("validate-cli"), "none.safetensors"));
        Assert.Equal(2, exit);
        Assert.Contains("no such reference dump", stderr);
    }
}
