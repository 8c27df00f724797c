using BayesPfl.Engine.Training;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>L_cls, L_orth and the KL terms of spec §5.6/§9.2: PyTorch autograd and finite differences in double.</summary>
public class SmallLossTests
{
    // The host losses compute in double from float inputs like the oracle, so loss and gradients agree to
    // double rounding of O(1) sums; 1e-6 relative only absorbs the float rounding of the stored outputs.
    private const double Rtol = 1e-6;

    [Fact]
    public void CrossEntropyMatchesTorch()
    {
        using var f = Oracle.Run("losses_oracle.py", "--op", "ce", "--batch", "9");
        var labels = f.ReadInts("labels").Select(x => (int)x).ToArray();
        var d = new float[18];
        var loss = SmallLosses.CrossEntropy<float>(d, f.ReadFloats("logits"), labels, 1.0);
        TensorAssert.Close("L_cls", [loss], [(double)f.ReadFloats("loss")[0]], 1e-7, Rtol);
        TensorAssert.Close("dlogits", d, f.ReadFloats("dlogits"), 1e-8, Rtol);
    }

    [Fact]
    public void OrthogonalityMatchesTorch()
    {
        using var f = Oracle.Run("losses_oracle.py", "--op", "orth", "--batch", "4", "--width", "13");
        var dt = new float[4 * 3 * 13];
        var loss = SmallLosses.Orthogonality<float>(dt, f.ReadFloats("t"), 4, 3, 13, 1.0);
        TensorAssert.Close("L_orth", [loss], [(double)f.ReadFloats("loss")[0]], 1e-8, Rtol);
        TensorAssert.Close("dt", dt, f.ReadFloats("dt"), 1e-7, 1e-5);
    }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(1, 4)]
    public void KlTermMatchesTorch(int rows, int n)
    {
        using var f = Oracle.Run("losses_oracle.py", "--op", "kl", "--rows", $"{rows}", "--batch", $"{n}", "--width", "17");
        var s = f.ReadFloats("scales");
        var (a, b) = rows == 1 ? KlLoss.StateScales(n) : KlLoss.ContextScales(n);
        Assert.Equal((double)s[0], a, 1e-7);
        Assert.Equal((double)s[1], b, 1e-7);
        float[] mu = f.ReadFloats("mu"), v = f.ReadFloats("v"), z0 = f.ReadFloats("z0"), zk = f.ReadFloats("zK"), ld = f.ReadFloats("logdet");
        var kl = KlLoss.Term<float>(mu, v, z0, zk, ld, a, b);
        TensorAssert.Close("KL", [kl], [(double)f.ReadFloats("kl")[0]], 1e-6, Rtol);
        float[] dmu = new float[mu.Length], dv = new float[mu.Length], dz0 = new float[mu.Length], dzk = new float[mu.Length], dld = new float[ld.Length];
        KlLoss.Backward<float>(dmu, dv, dz0, dzk, dld, mu, v, z0, zk, ld, a, b, KlLoss.Weight);
        foreach (var (name, got) in new[] { ("dmu", dmu), ("dv", dv), ("dz0", dz0), ("dzK", dzk), ("dlogdet", dld) })
            TensorAssert.Close(name, got, f.ReadFloats(name), 1e-9, Rtol);
    }

    [Fact]
    public void BackwardsMatchFiniteDifferences()
    {
        // All three are smooth at random inputs; central differences in double agree to ~1e-8 (FiniteDiff).
        const double Tol = 1e-6;
        var logits = FiniteDiff.Random(10, 1, 3);
        int[] labels = [0, 1, 1, 0, 1];
        var d = new double[10];
        SmallLosses.CrossEntropy<double>(d, logits, labels, 0.9);
        TensorAssert.Close("CE", d, FiniteDiff.Gradient(logits, () => 0.9 * SmallLosses.CrossEntropy<double>(new double[10], logits, labels, 1)), 1e-9, Tol);

        var t = FiniteDiff.Random(2 * 3 * 5, 2);
        var dt = new double[t.Length];
        SmallLosses.Orthogonality<double>(dt, t, 2, 3, 5, 1.1);
        TensorAssert.Close("orth", dt, FiniteDiff.Gradient(t, () => 1.1 * SmallLosses.Orthogonality<double>(new double[t.Length], t, 2, 3, 5, 1)), 1e-9, Tol);

        const int M = 2, C = 3;
        double[] mu = FiniteDiff.Random(M * C, 3), z0 = FiniteDiff.Random(M * C, 4), zk = FiniteDiff.Random(M * C, 5), ld = FiniteDiff.Random(M, 6);
        var v = FiniteDiff.Random(M * C, 7).Select(x => Math.Exp(x)).ToArray();
        double Kl() => 0.01 * KlLoss.Term<double>(mu, v, z0, zk, ld, 0.5, 0.25);
        double[] dmu = new double[M * C], dv = new double[M * C], dz0 = new double[M * C], dzk = new double[M * C], dld = new double[M];
        KlLoss.Backward<double>(dmu, dv, dz0, dzk, dld, mu, v, z0, zk, ld, 0.5, 0.25, 0.01);
        TensorAssert.Close("KL dmu", dmu, FiniteDiff.Gradient(mu, Kl), 1e-9, Tol);
        TensorAssert.Close("KL dv", dv, FiniteDiff.Gradient(v, Kl), 1e-9, Tol);
        TensorAssert.Close("KL dz0", dz0, FiniteDiff.Gradient(z0, Kl), 1e-9, Tol);
        TensorAssert.Close("KL dzK", dzk, FiniteDiff.Gradient(zk, Kl), 1e-9, Tol);
        TensorAssert.Close("KL dlogdet", dld, FiniteDiff.Gradient(ld, Kl), 1e-9, Tol);
    }
}
