using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>The full-resolution segmentation loss (focal + dice, spec §9.2): PyTorch autograd, finite differences, emulated kernels.</summary>
public class SegLossTests
{
    [Theory]
    [InlineData(2, 7)]
    [InlineData(3, 33)]
    [InlineData(1, 1)]
    [InlineData(2, 518)]
    public void MatchesTorchAutograd(int bt, int side)
    {
        using var f = Oracle.Run("losses_oracle.py", "--op", "seg", "--batch", $"{bt}", "--side", $"{side}");
        var up = f.ReadFloats("upstream");
        using var cpu = TestBackends.Cpu();
        var (loss, dlogits) = Run(cpu, f.ReadFloats("logits"), f.ReadFloats("mask"), bt, side, up[0], up[1]);
        // Float inputs, double sums in the reference; what is left is float rounding of P and of the outputs
        // (a few ulp of values of order 1), so 1e-6 relative with a 1e-7 floor.
        TensorAssert.Close("focal, dice", loss, [f.ReadFloats("focal")[0], f.ReadFloats("dice")[0]], 1e-7, 1e-5);
        // Per-pixel gradients are O(1/#pixels); an absolute floor of 1e-6 of the largest would hide errors,
        // so compare relative to each value with a floor far below the typical magnitude (1e-3 / pixels).
        var expected = f.ReadFloats("dlogits");
        TensorAssert.Close("dlogits", dlogits, expected, 1e-9 + 1e-5 * MaxAbs(expected), 1e-4);
    }

    [Fact]
    public void BackwardMatchesFiniteDifferencesInDouble()
    {
        const int Bt = 2, Side = 4, Plane = Side * Side;
        var logits = FiniteDiff.Random(Bt * 2 * Plane, 11, 3.0);
        var mask = new double[Bt * Plane];
        var r = new Random(12);
        for (var i = 0; i < mask.Length; i++) mask[i] = r.NextDouble() < 0.4 ? 1 : 0;
        const double Cf = 0.7, Cd = 1.3;
        double Loss()
        {
            var l = new double[2];
            SegLossReference.Forward<double>(l, new double[8], logits, mask, Bt, Plane);
            return Cf * l[0] + Cd * l[1];
        }
        var stats = new double[8];
        SegLossReference.Forward<double>(new double[2], stats, logits, mask, Bt, Plane);
        var analytic = new double[logits.Length];
        SegLossReference.Backward<double>(analytic, stats, logits, mask, Bt, Plane, Cf, Cd);
        // Smooth everywhere (no kinks: the class of each pixel is fixed), so central differences agree to ~1e-8.
        TensorAssert.Close("dlogits vs finite differences", analytic, FiniteDiff.Gradient(logits, Loss), 1e-8, 1e-6);
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(3, 33)]
    [InlineData(2, 197)]
    [InlineData(1, 518)] // 268K pixels: more blocks than MaxLossBlocks, so the grid-stride loop and the cap are exercised
    public void EmulatedKernelsMatchCpuAndRerunBitwise(int bt, int side)
    {
        var logits = FiniteDiff.RandomFloats(bt * 2 * side * side, 21 + side, 4f);
        var mask = FiniteDiff.RandomFloats(bt * side * side, 22 + side).Select(x => x > 0.4f ? 1f : 0f).ToArray();
        using var cpu = TestBackends.Cpu();
        using var emu = TestBackends.Emulated();
        var (refLoss, refGrad) = Run(cpu, logits, mask, bt, side, 0.8f, 1.2f);
        var (loss, grad) = Run(emu, logits, mask, bt, side, 0.8f, 1.2f);
        // The kernel sums in float (per-thread then block tree) where the reference sums in double:
        // relative error grows like ε·log(n) ≈ 1e-6 at 78K pixels.
        TensorAssert.Close("focal, dice (emulated vs cpu)", loss, refLoss, 1e-7, 1e-5);
        // Gradients share the float softmax; the sums enter through the class weights and the dice terms.
        TensorAssert.Close("dlogits (emulated vs cpu)", grad, refGrad, 1e-6 * MaxAbs(refGrad), 1e-4);
        var (loss2, grad2) = Run(emu, logits, mask, bt, side, 0.8f, 1.2f);
        TensorAssert.BitwiseEqual("loss rerun", loss, loss2);
        TensorAssert.BitwiseEqual("dlogits rerun", grad, grad2);
    }

    [Fact]
    public void RejectsMismatchedMask()
    {
        using var cpu = TestBackends.Cpu();
        var logits = cpu.Allocate(new Shape(2, 2, 5, 5), "logits");
        var mask = cpu.Allocate(new Shape(2, 5, 6), "mask");
        var e = Assert.Throws<ArgumentException>(() => cpu.SegLoss(cpu.Allocate(new Shape(2), "loss"), cpu.Allocate(new Shape(8), "stats"), logits, mask));
        Assert.Contains("mask", e.Message);
    }

    internal static (float[] Loss, float[] DLogits) Run(IBackend b, float[] logits, float[] mask, int bt, int side, float cf, float cd)
    {
        using var tl = b.Allocate(new Shape(bt, 2, side, side), "logits");
        using var tm = b.Allocate(new Shape(bt, side, side), "mask");
        using var loss = b.Allocate(new Shape(2), "loss");
        using var stats = b.Allocate(new Shape(LossShapes.SegStats), "stats");
        using var dl = b.Allocate(tl.Shape, "dlogits");
        b.Upload(tl, logits);
        b.Upload(tm, mask);
        b.SegLoss(loss, stats, tl, tm);
        b.SegLossBackward(dl, stats, tl, tm, cf, cd);
        var l = new float[2];
        var g = new float[dl.Length];
        b.Download(loss, l);
        b.Download(dl, g);
        TensorAssert.AllFinite("dlogits", g);
        return (l, g);
    }

    private static double MaxAbs(float[] v) => v.Max(x => Math.Abs((double)x));
}
