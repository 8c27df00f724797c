using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Synthetic;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Data.Training;

public class ValidationPlanTests
{
    // Three images per folder: each category has 3 normal and 15 anomalous test images.
    private static readonly Lazy<Dataset> Source = new(() => DatasetReader.Open(TrainingData.Generate(perCategory: 3)));

    [Fact]
    public void SourceOnlyHoldsOutAStratifiedShareOfEveryCategory()
    {
        var source = Source.Value;
        var plan = ValidationPlan.SourceOnly(source, 0.1, seed: 333);
        Assert.Equal(ValidationMode.SourceOnly, plan.Mode);
        Assert.Equal(source.Categories.Select(c => c.Name), plan.Validation.Categories.Select(c => c.Name));
        foreach (var category in source.Categories)
        {
            var held = plan.Validation.Category(category.Name);
            var kept = plan.Training.Category(category.Name);
            // 10% of 3 normals rounds to 0, raised to 1; 10% of 15 anomalous = 1.5 rounds to 2.
            Assert.Equal((1, 2), (held.NormalCount, held.AnomalousCount));
            Assert.Equal((2, 13), (kept.NormalCount, kept.AnomalousCount));
            Assert.Empty(held.Samples.Intersect(kept.Samples));
            Assert.Equal(category.Samples.Order(SampleOrder.Instance), held.Samples.Concat(kept.Samples).Order(SampleOrder.Instance));
        }
        Assert.Equal(plan.Validation.Samples, ValidationPlan.SourceOnly(source, 0.1, seed: 333).Validation.Samples);
        var reseeded = Enumerable.Range(1, 5).Select(s => ValidationPlan.SourceOnly(source, 0.1, seed: (ulong)s).Validation.Samples.ToList());
        Assert.Contains(reseeded, r => !r.SequenceEqual(plan.Validation.Samples));
        // The training half trains: it passes the training checks as it is.
        Assert.Equal(60, TrainingSet.Open(plan.Training).Items.Count);
    }

    [Fact]
    public void SourceOnlyNeedsTwoImagesOfAClassToHoldOneOut()
    {
        var one = DatasetReader.Open(TrainingData.Shared); // 1 normal and 5 anomalous per category
        var plan = ValidationPlan.SourceOnly(one, 0.1);
        Assert.All(plan.Validation.Categories, c => Assert.Equal((0, 1), (c.NormalCount, c.AnomalousCount)));
        Assert.All(plan.Training.Categories, c => Assert.Equal((1, 4), (c.NormalCount, c.AnomalousCount)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ValidationPlan.SourceOnly(one, 1.0));
    }

    [Fact]
    public void TargetCategoriesReadsTheNamedOrDefaultCategoriesOfAnotherDataset()
    {
        var source = Source.Value;
        var target = Path.Combine(Repo.TempDir("target"), "data");
        SyntheticDataset.Generate(target, new SyntheticOptions { Seed = 6, Size = 32, PerCategory = 1, Groups = ["B"] });
        var plan = ValidationPlan.TargetCategories(source, target, ["nut", "pill"]);
        Assert.Equal(ValidationMode.TargetCategories, plan.Mode);
        Assert.Same(source, plan.Training);
        Assert.Equal(["nut", "pill"], plan.Validation.Categories.Select(c => c.Name));
        Assert.Equal(["bottle", "hazelnut", "wood", "zipper", "leather"], ValidationPlan.DefaultTargetCategories(DatasetLayout.MvTec));
        Assert.Equal(["chewinggum", "cashew", "pipe_fryum", "capsules", "candle"], ValidationPlan.DefaultTargetCategories(DatasetLayout.Visa));
        // The synthetic tree is MVTec-shaped but has none of MVTec's categories: the defaults name what is missing.
        var missing = Assert.Throws<DatasetException>(() => ValidationPlan.TargetCategories(source, target));
        Assert.Contains("hazelnut", missing.Message);
        var itself = Assert.Throws<DatasetException>(() => ValidationPlan.TargetCategories(source, source.Root + "/"));
        Assert.Contains("training dataset itself", itself.Message);
    }

    private sealed class SampleOrder : IComparer<Sample>
    {
        public static readonly SampleOrder Instance = new();

        public int Compare(Sample? x, Sample? y) => string.CompareOrdinal(x?.ImagePath, y?.ImagePath);
    }
}
