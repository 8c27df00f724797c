using BayesPfl.Engine.Data.Datasets;
using Xunit;

namespace BayesPfl.Tests.Data.Datasets;

public class MvTecReaderTests
{
    private static DatasetTree Tree() => new DatasetTree()
        .Image("bottle/train/good/000.png", "bottle/train/good/001.png",
               "bottle/test/good/000.png", "bottle/test/broken_large/000.png", "bottle/test/broken_large/001.png",
               "bottle/ground_truth/broken_large/000_mask.png", "bottle/ground_truth/broken_large/001_mask.png",
               "metal_nut/test/good/000.png", "metal_nut/test/flip/000.png", "metal_nut/ground_truth/flip/000_mask.png")
        .Text("license.txt", "not a category")
        .Folder("docs");

    [Fact]
    public void ReadsTestSplitWithLabelsMasksAndDefectTypes()
    {
        var tree = Tree();
        var data = DatasetReader.Open(tree.Root);
        Assert.Equal(DatasetLayout.MvTec, data.Layout);
        Assert.Equal(["bottle", "metal_nut"], data.Categories.Select(c => c.Name));
        var bottle = data.Category("bottle");
        Assert.Equal((1, 2), (bottle.NormalCount, bottle.AnomalousCount));
        var broken = bottle.Samples.Single(s => s.ImagePath == tree.Path("bottle/test/broken_large/001.png"));
        Assert.Equal((1, "broken_large", tree.Path("bottle/ground_truth/broken_large/001_mask.png")), (broken.Label, broken.DefectType, broken.MaskPath));
        var good = bottle.Samples.Single(s => s.Label == 0);
        Assert.Equal(("good", null), (good.DefectType, good.MaskPath));
        Assert.Equal(("metal_nut", "metal nut"), (data.Category("metal_nut").ClassName, data.Category("metal_nut").PromptName));
        Assert.Empty(data.Warnings);
    }

    [Fact]
    public void ReadsTrainSplitAndSelectedCategories()
    {
        var tree = Tree().Image("metal_nut/train/good/000.png");
        var data = DatasetReader.Open(tree.Root, options: new DatasetOptions { Split = DatasetSplit.Train, Categories = ["bottle"] });
        Assert.Equal(["bottle"], data.Categories.Select(c => c.Name));
        Assert.Equal(2, data.Samples.Count(s => s.Label == 0 && s.DefectType == "good"));
    }

    [Fact]
    public void MissingMaskIsAnErrorNamingTheImageOrAWarningWhenAllowed()
    {
        var tree = Tree();
        File.Delete(tree.Path("bottle/ground_truth/broken_large/001_mask.png"));
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Open(tree.Root));
        Assert.Contains(tree.Path("bottle/test/broken_large/001.png"), e.Message);
        Assert.Contains("no mask", e.Message);

        var data = DatasetReader.Open(tree.Root, options: new DatasetOptions { MissingMask = MissingMaskPolicy.Warn });
        Assert.Null(data.Samples.Single(s => s.ImagePath.EndsWith("broken_large/001.png", StringComparison.Ordinal)).MaskPath);
        Assert.Contains(data.Warnings, w => w.Contains("broken_large/001.png", StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownCategoryListsTheKnownOnes()
    {
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Open(Tree().Root, options: new DatasetOptions { Categories = ["bottle", "cable"] }));
        Assert.Contains("unknown category cable", e.Message);
        Assert.Contains("bottle, metal_nut", e.Message);
    }

    [Fact]
    public void EmptyCategoryAndMissingSplitFolderAreErrors()
    {
        var tree = Tree().Folder("cable/test/good");
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Open(tree.Root));
        Assert.Contains("category 'cable' has no test images", e.Message);

        // metal_nut has no train/ folder at all.
        var train = Assert.Throws<DatasetException>(() => DatasetReader.Open(Tree().Root, options: new DatasetOptions { Split = DatasetSplit.Train }));
        Assert.Contains("'metal_nut' has no train/ folder", train.Message);
    }

    [Fact]
    public void MissingRootOrFileRootIsAnErrorNamingThePath()
    {
        var missing = Path.Combine(Infra.Repo.TempDir("dataset"), "nope");
        Assert.Contains($"{missing}: dataset folder does not exist", Assert.Throws<DatasetException>(() => DatasetReader.Open(missing)).Message);
        var tree = new DatasetTree().Text("file.txt", "x");
        Assert.Contains("is a file", Assert.Throws<DatasetException>(() => DatasetReader.Open(tree.Path("file.txt"))).Message);
        var empty = new DatasetTree();
        Assert.Contains("not a recognised dataset layout", Assert.Throws<DatasetException>(() => DatasetReader.Open(empty.Root)).Message);
    }
}
