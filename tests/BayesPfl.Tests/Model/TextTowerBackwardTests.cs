using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Planning;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Head;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Model;

/// <summary>
/// TextTowerTraining (spec §4.4, §9.4): its forward against TextTower, and the gradient of the features with respect
/// to the spliced prompt vectors against tests/reference/text_backward.py (float64 autograd) and float32 differences.
/// </summary>
public class TextTowerBackwardTests(ITestOutputHelper output)
{
    private const int Ctx = 77;

    [Fact]
    public void ForwardEqualsEncodeSplicedBitwise()
    {
        // One shared class name: the training forward over the repeated ids row is the inference forward.
        using var c = ClipCase.Create(TestBackends.Cpu(), "--layers", "1", "--text-layers", "2", "--text-width", "64", "--vocab", "200",
            "--spliced", "4", "--inject-len", "5", "--name-len", "2");
        using var inject = c.Upload("in.inject");
        var row = c.Ints("in.splice_ids");
        using var tower = new TextTower(c.Backend, c.Weights);
        using var training = new TextTowerTraining(c.Backend, c.Weights);
        using var expected = tower.EncodeSpliced(row, inject);
        using var actual = training.Forward(Enumerable.Repeat(row, 4).SelectMany(r => r).ToArray(), inject);
        // Same ops on the same values in the same order (the blocks write a new residual buffer instead of updating
        // in place, which changes no arithmetic): the CPU must give identical bits.
        TensorAssert.BitwiseEqual("training forward vs EncodeSpliced", c.Download(actual), c.Download(expected));
    }

    [Fact]
    public void PromptsWithDifferentNamesEachEqualTheirOwnEncodeSpliced()
    {
        using var c = Oracle("cpu", 64, 2, 10, 4, "1,3,2");
        var ids = c.Ints("in.ids");
        using var inject = c.Upload("in.inject");
        using var training = new TextTowerTraining(c.Backend, c.Weights);
        using var tower = new TextTower(c.Backend, c.Weights);
        using var features = training.Forward(ids, inject);
        var all = c.Download(features);
        int j = inject.Shape[1], wt = inject.Shape[2], e = all.Length / 4;
        for (var i = 0; i < 4; i++)
        {
            using var one = Put(c.Backend, "inject_i", c.Floats("in.inject").AsSpan(i * j * wt, j * wt).ToArray(), 1, j, wt);
            using var alone = tower.EncodeSpliced(ids.AsSpan(i * Ctx, Ctx), one);
            // Prompt i alone runs to its own EOT, in the batch to the longest prompt's: under the causal mask with
            // row-independent CPU ops the rows up to its EOT are computed identically (see TextTowerTests).
            TensorAssert.BitwiseEqual($"prompt {i}", all.AsSpan(i * e, e), c.Download(alone));
        }
    }

    [Theory]
    [InlineData("erf")]
    [InlineData("quick")]
    public void CpuMatchesTheFloat64Oracle(string gelu)
    {
        using var c = Oracle("cpu", 64, 2, 10, 5, "1,3,2", "--gelu", gelu, "--text-heads", "4");
        CheckAgainstOracle(c, $"cpu {gelu}");
    }

    [Fact]
    public void EmulatedKernelsMatchTheFloat64Oracle()
    {
        using var c = Oracle("emu", 32, 2, 3, 3, "1,3,2");
        CheckAgainstOracle(c, "emu");
    }

    [Fact]
    public void GpuMatchesTheFloat64OracleAtModelWidth()
    {
        // ViT-L/14's text width and heads, J = 10 and 12 prompts (two images' worth of six), 4 of the 12 layers.
        using var c = Oracle("gpu", 768, 4, 10, 12, "1,3,2,2,1,3", "--text-heads", "12", "--embed", "768");
        // Width 768 sums 12x more terms per dot product than the CPU case (rounding grows ~sqrt of that) and the
        // stream runs through 4 blocks: 1e-4 leaves a wide margin over fp32 rounding, far below a wrong op's error.
        CheckAgainstOracle(c, "gpu 768", 1e-4, 2e-4, 1e-9);
    }

    private void CheckAgainstOracle(ClipCase c, string label, double atol = 2e-5, double datol = 4e-5, double maxNmse = 1e-11)
    {
        using var inject = c.Upload("in.inject");
        using var dfeatures = c.Upload("in.dfeatures");
        using var training = new TextTowerTraining(c.Backend, c.Weights);
        using var features = training.Forward(c.Ints("in.ids"), inject);
        using var dinject = Put(c.Backend, "dinject", BackwardChecks.NaNs((int)inject.Length), inject.Shape.Dims.ToArray());
        training.Backward(dinject, dfeatures);
        output.WriteLine($"{label}: {training.SavedBytes} bytes saved");
        // fp32 engine vs the float64 oracle: the forward error is the fp32 rounding of a 2-block tower
        // (TextTowerTests allows 2e-5 against an fp32 oracle); the backward chain is about twice as deep (every op
        // and its transpose) and its values reach |3|, so it gets twice the bound.
        ClipCase.Compare($"{label} features", c.Download(features), c.Floats("out.features"), atol, atol, maxNmse, output.WriteLine);
        var first = c.Download(dinject);
        ClipCase.Compare($"{label} dinject", first, c.Floats("out.dinject"), datol, datol, maxNmse, output.WriteLine);

        // Backward overwrites dinject and only reads the saved activations: a second call gives the same bits.
        training.Backward(dinject, dfeatures);
        TensorAssert.BitwiseEqual($"{label} second backward", c.Download(dinject), first);
        BackwardChecks.Guards(c.Backend);
    }

    [Fact]
    public void CpuGradientMatchesFloat32Differences()
    {
        using var c = Oracle("cpu", 32, 2, 3, 3, "2,1,3");
        using var training = new TextTowerTraining(c.Backend, c.Weights);
        var ids = c.Ints("in.ids");
        var inject = c.Floats("in.inject");
        var weight = ToDouble(c.Floats("in.dfeatures"));
        var dims = c.Debug.Entry("in.inject").Shape;
        double Loss()
        {
            using var t = Put(c.Backend, "inject", inject, dims);
            using var f = training.Forward(ids, t);
            return FiniteDiff.Dot(ToDouble(c.Download(f)), weight);
        }

        using var injectT = Put(c.Backend, "inject", inject, dims);
        using var dfeatures = c.Upload("in.dfeatures");
        using var dinject = c.Backend.Allocate(injectT.Shape, "dinject");
        training.Forward(ids, injectT).Dispose();
        training.Backward(dinject, dfeatures);
        var analytic = c.Download(dinject);

        // Spot check a few entries, one in each prompt and slot position. Step 2^-6 (exact in float, so x ± h are
        // exact for |x| < 2): the float32 rounding of the loss (~1e-6 over 72 features of size ~1) divided by 2h
        // gives ~3e-5, and the O(h²) truncation of a smooth O(1)-curvature function ~1e-4; hence 1e-3 abs + 1e-2 rel.
        const float h = 1f / 64;
        var picks = new[] { 0, dims[2] + 7, dims[1] * dims[2] + 2 * dims[2] + 31, 2 * dims[1] * dims[2] + 11, inject.Length - 1 };
        var numeric = new double[picks.Length];
        var expected = new double[picks.Length];
        for (var p = 0; p < picks.Length; p++)
        {
            var i = picks[p];
            var keep = inject[i];
            inject[i] = keep + h;
            var plus = Loss();
            inject[i] = keep - h;
            var minus = Loss();
            inject[i] = keep;
            numeric[p] = (plus - minus) / (2 * h);
            expected[p] = analytic[i];
            output.WriteLine($"dinject[{i}]: analytic {analytic[i]:G6}, differences {numeric[p]:G6}");
        }
        TensorAssert.Close("dinject vs float32 differences", expected, numeric, 1e-3, 1e-2);
    }

    [Fact]
    public void RejectsMisuse()
    {
        using var c = Oracle("cpu", 32, 1, 3, 2, "1,2");
        using var training = new TextTowerTraining(c.Backend, c.Weights);
        using var inject = c.Upload("in.inject");
        using var dfeatures = c.Upload("in.dfeatures");
        using var dinject = c.Backend.Allocate(inject.Shape, "dinject");
        Assert.Contains("no Forward", Assert.Throws<ArgumentException>(() => training.Backward(dinject, dfeatures)).Message);
        var ids = c.Ints("in.ids");
        Assert.Contains("one prompt of 77 per injected block",
            Assert.Throws<ArgumentException>(() => training.Forward(ids.AsSpan(0, Ctx), inject)).Message);

        training.Forward(ids, inject).Dispose();
        Assert.True(training.SavedBytes > 0);
        using var wrong = c.Backend.Allocate(new Shape(2, 4, 32), "dinject_wrong_j");
        Assert.Contains("dinject_wrong_j", Assert.Throws<ArgumentException>(() => training.Backward(wrong, dfeatures)).Message);
    }

    [Fact]
    public void SavedBytesCountEverythingTheTrainingPassHoldsAtModelSize()
    {
        // ViT-L/14's text tower on 48 prompts (8 images x 6), J = 10, class names of 1-3 tokens ("X bottle",
        // "X metal nut", "X printed circuit board"): a planning backend counts every allocation without running.
        const int n = 48, j = 10;
        using var plan = new PlanningBackend();
        using var weights = ClipWeights.Uninitialized(plan, ClipConfig.VitL14At518);
        int[][] names = [[5392], [4044, 6491], [7978, 9801, 1972]];
        var ids = new int[n * Ctx];
        for (var i = 0; i < n; i++)
        {
            var name = names[i % names.Length];
            ids[i * Ctx] = 49406;
            ids[i * Ctx + 1] = 343;
            name.CopyTo(ids, i * Ctx + 2);
            ids[i * Ctx + 2 + name.Length] = 49407;
        }
        using var inject = plan.Allocate(new Shape(n, j, weights.Config.Text.Width), "inject");
        using var dinject = plan.Allocate(inject.Shape, "dinject");
        using var dfeatures = plan.Allocate(new Shape(n, weights.Config.EmbedDim), "dfeatures");
        var before = plan.LiveBytes;
        using var training = new TextTowerTraining(plan, weights);
        training.Forward(ids, inject).Dispose();
        training.Backward(dinject, dfeatures);
        output.WriteLine($"{n} prompts of {3 + j + 1} positions, {weights.Config.Text.Layers} layers: {training.SavedBytes / 1e6:F1} MB");
        Assert.Equal(plan.LiveBytes - before, training.SavedBytes);
    }

    /// <summary>text_backward.py on a tiny tower of the given width, layers, J, prompts and class-name lengths.</summary>
    private static ClipCase Oracle(string backend, int width, int layers, int j, int prompts, string nameLens, params string[] more) =>
        ClipCase.CreateFrom("text_backward.py", Backend(backend),
            ["--text-width", $"{width}", "--text-layers", $"{layers}", "--inject-len", $"{j}", "--prompts", $"{prompts}", "--name-lens", nameLens, .. more]);
}
