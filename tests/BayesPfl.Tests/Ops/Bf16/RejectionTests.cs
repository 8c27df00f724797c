using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using BayesPfl.Tests.Ops.Attention;
using Xunit;

namespace BayesPfl.Tests.Ops.Bf16;

/// <summary>
/// BF16 where an op does not take it is refused with a message naming the op, the tensor and why, on the CPU and in
/// the CUDA launchers before anything runs (over a GPU that fails on any launch, GEMM or copy).
/// </summary>
public sealed class RejectionTests
{
    public sealed record Case(string Name, string Message, Action<IBackend, Func<string, int[], DType, Tensor>> Call);

    private const DType F = DType.F32, H = DType.BF16;

    private static readonly Case[] Cases =
    [
        new("x BF16, w F32", "Linear: x is BF16 but w is F32; a BF16 input needs BF16 weights",
            (b, t) => b.Linear(t("y", [7, 5], F), t("x", [7, 3], H), t("w", [5, 3], F), null)),
        new("y BF16", "Linear: y is BF16; this op supports F32 only", (b, t) => b.Linear(t("y", [7, 5], H), t("x", [7, 3], F), t("w", [5, 3], H), null)),
        new("bias BF16", "Linear: bias is BF16; this op supports F32 only",
            (b, t) => b.Linear(t("y", [7, 5], F), t("x", [7, 3], H), t("w", [5, 3], H), t("bias", [5], H))),
        new("backward input", "LinearBackwardInput: w is BF16; bf16 is inference-only, this op takes F32",
            (b, t) => b.LinearBackwardInput(t("dx", [7, 3], F), t("dy", [7, 5], F), t("w", [5, 3], H))),
        new("backward weight", "LinearBackwardWeight: x is BF16; bf16 is inference-only, this op takes F32",
            (b, t) => b.LinearBackwardWeight(t("dw", [5, 3], F), null, t("dy", [7, 5], F), t("x", [7, 3], H))),
        new("batched matmul", "BatchedMatMul: a is BF16; bf16 is inference-only, this op takes F32",
            (b, t) => b.BatchedMatMul(t("c", [2, 7, 5], F), t("a", [2, 7, 3], H), t("bm", [2, 3, 5], H), false)),
        new("copy", "Copy: dst is F32 but src is BF16; they must match", (b, t) => b.Copy(t("dst", [4], F), t("src", [4], H))),
        new("pointwise", "Gelu: x is BF16; this op supports F32 only", (b, t) => b.Gelu(t("y", [4], F), t("x", [4], H), GeluKind.Erf)),
    ];

    public static TheoryData<string> Names => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void CpuRefuses(string name) => Expect(name, TestBackends.Cpu());

    [Theory]
    [MemberData(nameof(Names))]
    public void CudaRefusesBeforeLaunch(string name) => Expect(name, new CudaBackend(new NoLaunchGpu()));

    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda")]
    public void CastNeedsEqualLengths(string backend)
    {
        using IBackend be = backend == "cpu" ? TestBackends.Cpu() : new CudaBackend(new NoLaunchGpu());
        var ex = Assert.Throws<ArgumentException>(() => be.Cast(be.Allocate(new Shape(4), "dst", DType.BF16), be.Allocate(new Shape(5), "src")));
        Assert.StartsWith("Cast: dst has shape [4] (4 elements), expected 5 elements", ex.Message);
    }

    private static void Expect(string name, IBackend backend)
    {
        using var be = backend;
        var c = Cases.Single(c => c.Name == name);
        var ex = Assert.Throws<NotSupportedException>(() => c.Call(be, (n, shape, dtype) => be.Allocate(new Shape(shape), n, dtype)));
        Assert.Equal(c.Message, ex.Message);
    }
}
