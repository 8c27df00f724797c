using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>The training kernels on a real GPU at the training shape (batch 32 of 518x518 maps, spec §1); skipped without one.</summary>
public class TrainingGpuTests
{
    [Fact]
    public void SegLossAtFullResolutionMatchesCpu()
    {
        var (gpu, reason) = TestBackends.RealGpu();
        if (gpu is null) Assert.Skip(reason);
        using var backend = gpu;
        const int Bt = 32, Side = 518;
        var logits = FiniteDiff.RandomFloats(Bt * 2 * Side * Side, 5, 6f);
        var mask = FiniteDiff.RandomFloats(Bt * Side * Side, 6).Select(x => x > 0.8f ? 1f : 0f).ToArray();
        using var cpu = TestBackends.Cpu();
        var (refLoss, refGrad) = SegLossTests.Run(cpu, logits, mask, Bt, Side, 1f, 1f);
        var (loss, grad) = SegLossTests.Run(backend, logits, mask, Bt, Side, 1f, 1f);
        // 8.6M-pixel float sums (per thread, then two block trees) against double sums: ~ε·log₂(n) relative,
        // plus the GPU's expf/logf (≤ 2 ulp), so 2e-5 relative on O(1) losses.
        TensorAssert.Close("focal, dice (gpu vs cpu)", loss, refLoss, 1e-6, 2e-5);
        TensorAssert.Close("dlogits (gpu vs cpu)", grad, refGrad, 1e-6 * refGrad.Max(x => Math.Abs((double)x)), 1e-4);
        var (loss2, grad2) = SegLossTests.Run(backend, logits, mask, Bt, Side, 1f, 1f);
        TensorAssert.BitwiseEqual("loss rerun", loss, loss2);
        TensorAssert.BitwiseEqual("dlogits rerun", grad, grad2);
    }
}
