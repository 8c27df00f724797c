using BayesPfl.Engine.Backends.Planning;
using BayesPfl.Engine.Tensors;
using Xunit;

namespace BayesPfl.Tests.Ops.Bf16;

/// <summary>Memory plans count what the CUDA backend adds in bf16 mode: the growing bf16 copy of an F32 Linear input.</summary>
public sealed class PlanningTests
{
    [Fact]
    public void PlanCountsTheBf16InputScratch()
    {
        using var plan = new PlanningBackend();
        var w = plan.Allocate(new Shape(5, 33), "w", DType.BF16);
        var x = plan.Allocate(new Shape(7, 33), "x");
        var y = plan.Allocate(new Shape(7, 5), "y");
        long tensors = 5 * 33 * 2 + 7 * 33 * 4 + 7 * 5 * 4;
        Assert.Equal(tensors, plan.PeakBytes);

        plan.Linear(y, x, w, null);
        Assert.Equal(tensors + 7 * 33 * 2, plan.LiveBytes);
        plan.Linear(y.View(0, new Shape(1, 5)), x.View(0, new Shape(1, 33)), w, null);  // smaller: reused
        Assert.Equal(tensors + 7 * 33 * 2, plan.PeakBytes);

        var xb = plan.Allocate(new Shape(9, 33), "xb", DType.BF16);
        plan.Linear(plan.Allocate(new Shape(9, 5), "yb"), xb, w, null);  // already bf16: no copy
        Assert.Equal(tensors + 7 * 33 * 2 + 9 * 33 * 2 + 9 * 5 * 4, plan.LiveBytes);
        plan.Linear(y, x, plan.Allocate(new Shape(5, 33), "w32"), null);  // fp32 weights: no copy
        Assert.Contains(plan.AtPeak, e => e.Name == "linear bf16 input" && e.Bytes == 7 * 33 * 2);
    }
}
