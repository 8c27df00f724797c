using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;
using BayesPfl.Host;
using BayesPfl.Tests.Ops.Attention;
using Xunit;

namespace BayesPfl.Tests.Ops.Basic;

/// <summary>
/// Wrong shapes throw ArgumentException naming the op and the offending tensor, on the CPU and in the CUDA
/// launchers before anything is launched (the CUDA backend runs over a GPU that fails on any launch or GEMM).
/// </summary>
public sealed class ShapeCheckTests
{
    public sealed record Case(string Op, string Tensor, Action<IBackend, Func<string, int[], Tensor>> Call)
    {
        public override string ToString() => $"{Op}/{Tensor}";
    }

    private static readonly Case[] Cases =
    [
        new("Linear", "w", (b, t) => b.Linear(t("y", [7, 31]), t("x", [7, 33]), t("w", [31, 32]), null)),
        new("Linear", "y", (b, t) => b.Linear(t("y", [7, 30]), t("x", [7, 33]), t("w", [31, 33]), null)),
        new("Linear", "bias", (b, t) => b.Linear(t("y", [7, 31]), t("x", [7, 33]), t("w", [31, 33]), t("bias", [30]))),
        new("LinearBackwardInput", "dx", (b, t) => b.LinearBackwardInput(t("dx", [7, 32]), t("dy", [7, 31]), t("w", [31, 33]))),
        new("LinearBackwardWeight", "x", (b, t) => b.LinearBackwardWeight(t("dw", [31, 33]), null, t("dy", [7, 31]), t("x", [6, 33]))),
        new("LinearBackwardWeight", "dbias", (b, t) => b.LinearBackwardWeight(t("dw", [31, 33]), t("dbias", [30]), t("dy", [7, 31]), t("x", [7, 33]))),
        new("BatchedMatMul", "bm", (b, t) => b.BatchedMatMul(t("c", [3, 7, 31]), t("a", [3, 7, 33]), t("bm", [3, 32, 31]), false)),
        new("BatchedMatMul", "c", (b, t) => b.BatchedMatMul(t("c", [3, 7, 30]), t("a", [3, 7, 33]), t("bm", [3, 31, 33]), true)),
        new("LayerNorm", "gamma", (b, t) => b.LayerNorm(t("y", [7, 77]), t("mean", [7]), t("rstd", [7]), t("x", [7, 77]), t("gamma", [76]), t("beta", [77]), 1e-5f)),
        new("LayerNorm", "mean", (b, t) => b.LayerNorm(t("y", [7, 77]), t("mean", [6]), t("rstd", [7]), t("x", [7, 77]), t("gamma", [77]), t("beta", [77]), 1e-5f)),
        new("LayerNormBackward", "dy", (b, t) => b.LayerNormBackward(t("dx", [7, 77]), t("dgamma", [77]), t("dbeta", [77]), t("dy", [7, 76]),
            t("x", [7, 77]), t("mean", [7]), t("rstd", [7]), t("gamma", [77]))),
        new("LayerNormBackward", "dgamma", (b, t) => b.LayerNormBackward(t("dx", [7, 77]), t("dgamma", [76]), t("dbeta", [77]), t("dy", [7, 77]),
            t("x", [7, 77]), t("mean", [7]), t("rstd", [7]), t("gamma", [77]))),
        new("Gelu", "y", (b, t) => b.Gelu(t("y", [7, 32]), t("x", [7, 33]), GeluKind.Erf)),
        new("GeluBackward", "x", (b, t) => b.GeluBackward(t("dx", [7, 33]), t("dy", [7, 33]), t("x", [33, 7]), GeluKind.Quick)),
        new("Add", "b", (b, t) => b.Add(t("y", [7, 33]), t("a", [7, 33]), t("b", [7, 34]))),
        new("Softmax", "y", (b, t) => b.Softmax(t("y", [7, 32]), t("x", [7, 33]))),
        new("SoftmaxBackward", "dy", (b, t) => b.SoftmaxBackward(t("dx", [7, 33]), t("dy", [7, 3]), t("y", [7, 33]))),
        new("L2Normalize", "norm", (b, t) => b.L2Normalize(t("y", [7, 33]), t("norm", [6]), t("x", [7, 33]))),
        new("L2NormalizeBackward", "dx", (b, t) => b.L2NormalizeBackward(t("dx", [8, 33]), t("dy", [7, 33]), t("y", [7, 33]), t("norm", [7]))),
        new("Softplus", "y", (b, t) => b.Softplus(t("y", [1]), t("x", [7, 33]))),
        new("SoftplusBackward", "dy", (b, t) => b.SoftplusBackward(t("dx", [7, 33]), t("dy", [33]), t("x", [7, 33]))),
        new("Tanh", "y", (b, t) => b.Tanh(t("y", [7, 33, 1]), t("x", [7, 33]))),
        new("TanhBackward", "y", (b, t) => b.TanhBackward(t("dx", [7, 33]), t("dy", [7, 33]), t("y", [7, 31]))),
    ];

    public static TheoryData<string> CaseNames => [.. Cases.Select(c => c.ToString())];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void CpuRejectsWrongShapes(string name)
    {
        using var cpu = new CpuBackend();
        ExpectRejected(Cases.Single(c => c.ToString() == name), cpu);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void CudaRejectsWrongShapesBeforeLaunch(string name)
    {
        var gpu = new NoLaunchGpu();
        using var cuda = new CudaBackend(gpu);
        ExpectRejected(Cases.Single(c => c.ToString() == name), cuda);
    }

    [Fact]
    public void NoLaunchGpuCatchesLaunches()
    {
        using var cuda = new CudaBackend(new NoLaunchGpu());
        var x = cuda.Allocate(new Shape(7, 33), "x");
        Assert.Throws<InvalidOperationException>(() => cuda.Tanh(x, x));
        Assert.Throws<InvalidOperationException>(() => cuda.Linear(cuda.Allocate(new Shape(7, 5), "y"), x, cuda.Allocate(new Shape(5, 33), "w"), null));
    }

    private static void ExpectRejected(Case c, IBackend backend)
    {
        var ex = Assert.Throws<ArgumentException>(() => c.Call(backend, (name, shape) => backend.Allocate(new Shape(shape), name)));
        Assert.StartsWith(c.Op + ":", ex.Message);
        Assert.Contains(c.Tensor, ex.Message);
    }
}
