using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Ops.Attention;

/// <summary>
/// Mismatched arguments are rejected before anything runs, with the op and the offending tensors named. The
/// CUDA backend runs over <see cref="NoLaunchGpu"/>, which fails any launch, so "before a launch" is checked too.
/// </summary>
public class AttentionShapeTests
{
    public static TheoryData<string> Backends => new() { "cpu", "cuda" };

    internal static IBackend Make(string name) => name == "cpu" ? TestBackends.Cpu() : new CudaBackend(new NoLaunchGpu());

    [Theory]
    [MemberData(nameof(Backends))]
    public void ForwardRejectsMismatchedTensors(string backend)
    {
        using var be = Make(backend);
        var q = be.Allocate(new([2, 5, 12]), "q");
        var k = be.Allocate(new([2, 7, 12]), "k");
        var v = be.Allocate(new([2, 7, 12]), "v");
        var o = be.Allocate(new([2, 5, 12]), "o");
        var lse = be.Allocate(new([2, 3, 5]), "lse");
        Expect(() => be.Attention(o, lse, q, be.Allocate(new([2, 7, 8]), "k_narrow"), v, 3, false, 1f), "Attention", "k_narrow", "[2,7,8]");
        Expect(() => be.Attention(o, lse, q, k, be.Allocate(new([2, 6, 12]), "v_short"), 3, false, 1f), "Attention", "v_short", "k");
        Expect(() => be.Attention(o, be.Allocate(new([2, 5, 3]), "lse_bad"), q, k, v, 3, false, 1f), "Attention", "lse_bad", "[2,3,5]");
        Expect(() => be.Attention(o, lse, q, k, v, 5, false, 1f), "Attention", "q", "5 heads");
        Expect(() => be.Attention(o, lse, q, k, v, 3, true, 1f), "Attention", "causal", "q", "k");
        Expect(() => be.Attention(be.Allocate(new([2, 5, 9]), "o_bad"), lse, q, k, v, 3, false, 1f), "Attention", "o_bad", "q");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BackwardRejectsMismatchedGradients(string backend)
    {
        using var be = Make(backend);
        var q = be.Allocate(new([1, 4, 8]), "q");
        var k = be.Allocate(new([1, 4, 8]), "k");
        var lse = be.Allocate(new([1, 2, 4]), "lse");
        var bad = be.Allocate(new([1, 3, 8]), "grad_bad");
        Expect(() => be.AttentionBackward(bad, k, k, q, q, k, k, q, lse, 2, true, 1f), "AttentionBackward", "grad_bad", "q");
        Expect(() => be.AttentionBackward(q, bad, k, q, q, k, k, q, lse, 2, true, 1f), "AttentionBackward", "grad_bad", "k");
        Expect(() => be.AttentionBackward(q, k, k, bad, q, k, k, q, lse, 2, true, 1f), "AttentionBackward", "grad_bad", "o");
    }

    [Fact]
    public void CudaRejectsHeadDimAboveItsKernels()
    {
        using var be = new CudaBackend(new NoLaunchGpu());
        var q = be.Allocate(new([1, 2, 257]), "q");
        var lse = be.Allocate(new([1, 1, 2]), "lse");
        Expect(() => be.Attention(q, lse, q, q, q, 1, false, 1f), "Attention", "q", "head dim 257");
    }

    internal static void Expect(Action act, params string[] mentions)
    {
        var e = Assert.Throws<ArgumentException>(act);
        foreach (var m in mentions) Assert.Contains(m, e.Message);
    }
}
