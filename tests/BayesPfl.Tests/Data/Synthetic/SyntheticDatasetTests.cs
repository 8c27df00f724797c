using System.Security.Cryptography;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Data.Synthetic;
using BayesPfl.Tests.Infra;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace BayesPfl.Tests.Data.Synthetic;

public class SyntheticDatasetTests
{
    // Small enough to keep the test fast on a shared 2-core machine, large enough for every defect to fit.
    private static readonly SyntheticOptions Small = new() { Seed = 7, Size = 48, PerCategory = 2 };

    private static string Generate(SyntheticOptions options)
    {
        var root = Path.Combine(Repo.TempDir("synthetic"), "data");
        SyntheticDataset.Generate(root, options);
        return root;
    }

    private static Dictionary<string, string> Hashes(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                 .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void SameSeedWritesIdenticalFilesAndAnotherSeedDifferentOnes()
    {
        var first = Hashes(Generate(Small));
        Assert.Equal(first, Hashes(Generate(Small)));
        // Only group B, so generating fewer categories must not change the files of the ones written.
        var onlyB = Hashes(Generate(Small with { Groups = ["B"] }));
        Assert.All(onlyB.Where(kv => kv.Key.EndsWith(".png", StringComparison.Ordinal)), kv => Assert.Equal(first[kv.Key], kv.Value));
        var other = Hashes(Generate(Small with { Seed = 8 }));
        Assert.NotEqual(first["disc/test/good/000.png"], other["disc/test/good/000.png"]);
    }

    [Fact]
    public void WritesTheMvTecLayoutWithBinaryMasksNonEmptyExactlyForDefects()
    {
        var root = Generate(Small);
        var data = DatasetReader.Open(root);
        Assert.Equal(DatasetLayout.MvTec, data.Layout);
        Assert.Equal(SyntheticDataset.AllGroups.Values.SelectMany(g => g).Order(StringComparer.Ordinal), data.Categories.Select(c => c.Name));
        foreach (var category in data.Categories)
        {
            Assert.Equal(Small.PerCategory, category.NormalCount);
            Assert.Equal(Small.PerCategory * SyntheticDataset.DefectTypes.Count, category.AnomalousCount);
            Assert.Equal(SyntheticDataset.DefectTypes.Order(StringComparer.Ordinal), category.Samples.Where(s => s.IsAnomalous).Select(s => s.DefectType).Distinct());
            foreach (var sample in category.Samples.Where(s => s.IsAnomalous))
            {
                // Read as the evaluator will, through the engine's image IO.
                var values = ImageFile.LoadGray(sample.MaskPath!).Pixels;
                Assert.All(values, v => Assert.True(v is 0 or 255, $"{sample.MaskPath}: mask value {v} is not 0 or 255"));
                Assert.True(values.Count(v => v == 255) >= 6, $"{sample.MaskPath}: defect mask has fewer than 6 pixels");
                Assert.True(values.Count(v => v == 0) > values.Length / 2, $"{sample.MaskPath}: defect covers more than half the image");
            }
        }
        Assert.Equal(8 * 2, DatasetReader.Open(root, options: new DatasetOptions { Split = DatasetSplit.Train }).Samples.Count());
        // Good images have no ground truth folder at all.
        Assert.False(Directory.Exists(Path.Combine(root, "disc", "ground_truth", "good")));
    }

    [Fact]
    public void DefectsChangeTheImageWhereTheMaskIsSet()
    {
        var root = Generate(Small with { Size = 64 });
        using var image = Image.Load<Rgb24>(Path.Combine(root, "wood", "test", "hole", "000.png"));
        using var mask = Image.Load<L8>(Path.Combine(root, "wood", "ground_truth", "hole", "000_mask.png"));
        // A hole is dark inside: the darkest masked pixel is darker than the darkest wood pixel anywhere outside it.
        int masked = 255, outside = 255;
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 64; x++)
            {
                var p = image[x, y];
                var l = (p.R + p.G + p.B) / 3;
                if (mask[x, y].PackedValue == 255) masked = Math.Min(masked, l);
                else if (mask[x, y].PackedValue == 0) outside = Math.Min(outside, l);
            }
        Assert.True(masked < outside, $"darkest masked pixel {masked} is not darker than the darkest normal wood pixel {outside}");
    }

    [Fact]
    public void GroupsAreDisjointAndOptionsAreChecked()
    {
        Assert.Empty(SyntheticDataset.AllGroups["A"].Intersect(SyntheticDataset.AllGroups["B"]));
        var root = Repo.TempDir("synthetic");
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticDataset.Generate(root, Small with { Size = 8 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticDataset.Generate(root, Small with { PerCategory = 0 }));
        Assert.Contains("unknown group(s) C", Assert.Throws<ArgumentException>(() => SyntheticDataset.Generate(root, Small with { Groups = ["C"] })).Message);
    }
}
