using BayesPfl.Engine.Validation;
using Xunit;

namespace BayesPfl.Tests.Validation;

public class TensorCheckTests
{
    private static readonly float[] Reference = [1f, -2f, 0.5f, 4f];

    [Fact]
    public void ErrorsAreMeasuredAgainstTheKindsTolerance()
    {
        // rms(ref) = 2.3049; Tap allows 2e-4·rms + 1e-4·|ref| = 4.61e-4 + 4e-4 at element 3. The pattern is repeated
        // 100 times so that one element's error keeps the NMSE (3e-10) far below its bound.
        var reference = Enumerable.Repeat(Reference, 100).SelectMany(v => v).ToArray();
        var engine = (float[])reference.Clone();
        engine[3] = 4f + 8e-4f;
        var c = TensorCheck.Compare("t", TensorKind.Tap, [400], engine, reference);
        Assert.True(c.Passed);
        Assert.Equal(3, c.Worst);
        Assert.Equal(8e-4, c.MaxAbs, 1e-6); // float spacing at 4 is 4.8e-7
        Assert.Equal(8e-4 / 4, c.MaxRel, 1e-6);
        Assert.InRange(c.Limit, 0.9, 0.95);

        engine[3] = 4f + 9e-4f;
        Assert.False(TensorCheck.Compare("t", TensorKind.Tap, [400], engine, reference).Passed);
    }

    [Fact]
    public void NaNLengthAndNmseFailures()
    {
        var nan = TensorCheck.Compare("t", TensorKind.Score, [4], [1f, float.NaN, 0.5f, 4f], Reference);
        Assert.False(nan.Passed);
        Assert.Contains("NaN", nan.Problem);
        Assert.False(TensorCheck.Compare("t", TensorKind.Score, [4], [1f, 2f], Reference).Passed);

        // Every element within Score's 1e-4 absolute bound and all off together: NMSE 3.24e-8 / 21.25 = 1.5e-9 passes.
        var shifted = Reference.Select(v => v + 9e-5f).ToArray();
        var c = TensorCheck.Compare("t", TensorKind.Score, [4], shifted, Reference);
        Assert.True(c.Passed, $"nmse {c.Nmse}");
        // A tensor of small values all off by the same bound: each element passes, the NMSE does not.
        float[] small = [1e-3f, 2e-3f, 1e-3f, 2e-3f];
        var tiny = TensorCheck.Compare("t", TensorKind.Score, [4], small.Select(v => v + 9e-5f).ToArray(), small);
        Assert.True(tiny.Limit <= 1);
        Assert.False(tiny.Passed);
    }
}
