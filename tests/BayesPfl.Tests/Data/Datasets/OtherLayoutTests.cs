using BayesPfl.Engine.Data.Datasets;
using Xunit;

namespace BayesPfl.Tests.Data.Datasets;

/// <summary>VisA's split list, BTAD's ok/ko tree, the ZSAD meta.json and the plain folder layout.</summary>
public class OtherLayoutTests
{
    private const string VisaHeader = "object,split,label,image,mask\n";

    private static DatasetTree Visa(string rows) => new DatasetTree()
        .Image("candle/Data/Images/Normal/000.JPG", "candle/Data/Images/Anomaly/001.JPG", "candle/Data/Masks/Anomaly/001.png",
               "pcb1/Data/Images/Normal/002.JPG")
        .Text("split_csv/1cls.csv", VisaHeader + rows);

    private const string VisaRows =
        "candle,test,normal,candle/Data/Images/Normal/000.JPG,\n" +
        "candle,test,anomaly,candle/Data/Images/Anomaly/001.JPG,candle/Data/Masks/Anomaly/001.png\n" +
        "pcb1,train,normal,pcb1/Data/Images/Normal/002.JPG,\n" +
        "pcb1,test,normal,pcb1/Data/Images/Normal/002.JPG,\n";

    [Fact]
    public void VisaReadsTheSplitList()
    {
        var tree = Visa(VisaRows);
        var data = DatasetReader.Open(tree.Root);
        Assert.Equal(DatasetLayout.Visa, data.Layout);
        Assert.Equal(["candle", "pcb1"], data.Categories.Select(c => c.Name));
        var anomaly = data.Category("candle").Samples.Single(s => s.IsAnomalous);
        Assert.Equal((tree.Path("candle/Data/Images/Anomaly/001.JPG"), tree.Path("candle/Data/Masks/Anomaly/001.png")), (anomaly.ImagePath, anomaly.MaskPath));
        Assert.Single(DatasetReader.Open(tree.Root, options: new DatasetOptions { Split = DatasetSplit.Train, Categories = ["pcb1"] }).Samples);
        // candle is listed, but only in the test split.
        Assert.Contains("category 'candle' has no train images", Assert.Throws<DatasetException>(() =>
            DatasetReader.Open(tree.Root, options: new DatasetOptions { Split = DatasetSplit.Train })).Message);
    }

    [Fact]
    public void VisaErrorsNameTheLine()
    {
        var missingMask = Visa(VisaRows.Replace("Masks/Anomaly/001.png", "Masks/Anomaly/999.png", StringComparison.Ordinal));
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Open(missingMask.Root));
        Assert.Contains("1cls.csv:3: mask file", e.Message);
        Assert.Contains("999.png", e.Message);

        var badLabel = Visa(VisaRows.Replace("test,anomaly", "test,broken", StringComparison.Ordinal));
        Assert.Contains("1cls.csv:3: label 'broken'", Assert.Throws<DatasetException>(() => DatasetReader.Open(badLabel.Root)).Message);

        var noMask = Visa(VisaRows.Replace(",candle/Data/Masks/Anomaly/001.png", ",", StringComparison.Ordinal));
        Assert.Contains("has no mask", Assert.Throws<DatasetException>(() => DatasetReader.Open(noMask.Root)).Message);
    }

    [Fact]
    public void BtadUsesOkKoFoldersAndTheReferenceClassNames()
    {
        var tree = new DatasetTree().Image("01/test/ok/0000.bmp", "01/test/ko/0001.bmp", "01/ground_truth/ko/0001.png",
                                           "03/test/ok/0002.png", "03/test/ko/0003.png", "03/ground_truth/ko/0003_mask.png");
        var data = DatasetReader.Open(tree.Root);
        Assert.Equal(DatasetLayout.Btad, data.Layout);
        Assert.Equal([("01", "metal1", "metal1"), ("03", "metal2", "metal2")], data.Categories.Select(c => (c.Name, c.ClassName, c.PromptName)));
        Assert.Equal(tree.Path("01/ground_truth/ko/0001.png"), data.Category("01").Samples.Single(s => s.IsAnomalous).MaskPath);
        Assert.Equal(tree.Path("03/ground_truth/ko/0003_mask.png"), data.Category("03").Samples.Single(s => s.IsAnomalous).MaskPath);
        Assert.Equal("ko", data.Category("01").Samples.Single(s => s.IsAnomalous).DefectType);
    }

    private const string Meta = """
        {"train": {},
         "test": {"Fabric1": [
            {"img_path": "fabric1/test/good/0.png", "mask_path": "", "cls_name": "fabric1", "specie_name": "good", "anomaly": 0},
            {"img_path": "fabric1/test/bad/1.png", "mask_path": "fabric1/gt/bad/1.png", "cls_name": "fabric1", "specie_name": "bad", "anomaly": 1}]}}
        """;

    [Fact]
    public void MetaJsonReadsRelativePathsAndLowerCasesTheClassName()
    {
        var tree = new DatasetTree().Image("fabric1/test/good/0.png", "fabric1/test/bad/1.png", "fabric1/gt/bad/1.png").Text("meta.json", Meta);
        var data = DatasetReader.Open(tree.Root);
        Assert.Equal(DatasetLayout.MetaJson, data.Layout);
        var category = Assert.Single(data.Categories);
        Assert.Equal(("Fabric1", "fabric1", "fabric1"), (category.Name, category.ClassName, category.PromptName));
        var bad = category.Samples.Single(s => s.IsAnomalous);
        Assert.Equal((tree.Path("fabric1/test/bad/1.png"), tree.Path("fabric1/gt/bad/1.png"), "bad"), (bad.ImagePath, bad.MaskPath, bad.DefectType));
        // The train split exists but has no categories.
        Assert.Contains("no categories found", Assert.Throws<DatasetException>(() =>
            DatasetReader.Open(tree.Root, options: new DatasetOptions { Split = DatasetSplit.Train })).Message);
    }

    [Fact]
    public void MetaJsonMissingImageOrBrokenJsonNamesTheEntry()
    {
        var tree = new DatasetTree().Image("fabric1/test/good/0.png", "fabric1/gt/bad/1.png").Text("meta.json", Meta);
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Open(tree.Root));
        Assert.Contains("test.Fabric1[1]: image file", e.Message);
        Assert.Contains("fabric1/test/bad/1.png does not exist", e.Message);

        var broken = new DatasetTree().Text("meta.json", "{\"test\": ");
        Assert.Contains("meta.json: not valid JSON", Assert.Throws<DatasetException>(() => DatasetReader.Open(broken.Root)).Message);
    }

    [Fact]
    public void FolderLayoutMatchesMasksByName()
    {
        var tree = new DatasetTree().Image("parts/normal/a.jpg", "parts/abnormal/b.jpg", "parts/abnormal/c.png", "parts/masks/b.png", "parts/masks/c_mask.png");
        var data = DatasetReader.Open(tree.Path("parts"));
        Assert.Equal(DatasetLayout.Folder, data.Layout);
        var parts = Assert.Single(data.Categories);
        Assert.Equal("parts", parts.Name);
        Assert.Equal([tree.Path("parts/masks/b.png"), tree.Path("parts/masks/c_mask.png")],
                     parts.Samples.Where(s => s.IsAnomalous).Select(s => s.MaskPath));

        var noMasks = new DatasetTree().Image("x/normal/a.png", "x/abnormal/b.png");
        Assert.Contains("has no mask", Assert.Throws<DatasetException>(() => DatasetReader.Open(noMasks.Path("x"))).Message);
        var warned = DatasetReader.Open(noMasks.Path("x"), options: new DatasetOptions { MissingMask = MissingMaskPolicy.Warn });
        Assert.Single(warned.Warnings);
        Assert.Equal(2, warned.Samples.Count());
    }
}
