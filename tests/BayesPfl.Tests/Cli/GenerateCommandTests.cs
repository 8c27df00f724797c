using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Cli;

public class GenerateCommandTests
{
    [Fact]
    public void GeneratesOneGroupThatTheMvTecReaderReads()
    {
        var root = Path.Combine(Repo.TempDir("cli-generate"), "syn");
        var (exit, stdout, stderr) = CliProcess.Run("generate", "--out", root, "--seed", "3", "--size", "40", "--per-category", "1", "--group", "B");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("group B: grid, stone, nut, pill", stdout);
        var data = DatasetReader.Open(root);
        Assert.Equal(["grid", "nut", "pill", "stone"], data.Categories.Select(c => c.Name));
        Assert.True(File.Exists(Path.Combine(root, "synthetic.json")));
    }

    [Fact]
    public void BadSizeFailsWithOneLine()
    {
        var (exit, _, stderr) = CliProcess.Run("generate", "--out", Path.Combine(Repo.TempDir("cli-generate"), "syn"), "--size", "4");
        Assert.NotEqual(0, exit);
        Assert.StartsWith("bayespfl generate: image size must be 32..1024 px", stderr.Trim());
    }
}
