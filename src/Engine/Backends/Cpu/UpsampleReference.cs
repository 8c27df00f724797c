using System.Numerics;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Bilinear resize with align_corners=True, as PyTorch computes it: src = dst·(in−1)/(out−1) (0 when
/// out == 1), i0 = ⌊src⌋, i1 = min(i0+1, in−1), λ = src − i0; y = Σ of the four taps weighted (1−λ)/λ per axis.
/// Layout x[M, h, w] → y[M, H, W] (M = product of the leading dims). The backward here is the plain scatter
/// (the transpose of the forward, run sequentially); the CUDA kernel computes the same sums as a gather, so
/// comparing the two checks the gather's index ranges. Same argument order as src/Kernels/upsample.cu.
/// </summary>
public static class UpsampleReference
{
    /// <summary>Sizes of one call: Maps images of InH x InW resized to OutH x OutW.</summary>
    public readonly record struct Dims(int Maps, int InH, int InW, int OutH, int OutW);

    /// <summary>Checks the input side x[.., h, w] (x or dx) against the output side y[.., H, W] (y or dy).</summary>
    public static Dims CheckShapes(string op, Tensor y, Tensor x)
    {
        Check.F32(op, y, x);
        Check.MinRank(op, x, 2);
        Check.MinRank(op, y, 2);
        var lead = x.Shape.Dims[..^2];
        Check.That(y.Shape.Rank == x.Shape.Rank && y.Shape.Dims[..^2].SequenceEqual(lead), op,
            $"{x.Name} has shape {x.Shape} and {y.Name} has shape {y.Shape}: all but the last two dims must match");
        int h = x.Shape[-2], w = x.Shape[-1], outH = y.Shape[-2], outW = y.Shape[-1];
        Check.That(h >= 1 && w >= 1 && outH >= 1 && outW >= 1, op,
            $"{x.Name} {x.Shape} and {y.Name} {y.Shape}: spatial sizes must be >= 1");
        var maps = 1;
        foreach (var d in lead) maps = checked(maps * d);
        return new Dims(maps, h, w, outH, outW);
    }

    /// <summary>The two source taps of output index dst and the weight λ of the second (the first gets 1−λ).</summary>
    public static (int I0, int I1, T Lambda) Tap<T>(int dst, int inSize, int outSize) where T : IFloatingPointIeee754<T>
    {
        var scale = outSize > 1 ? T.CreateTruncating(inSize - 1) / T.CreateTruncating(outSize - 1) : T.Zero;
        var src = scale * T.CreateTruncating(dst);
        var i0 = int.CreateTruncating(src);
        var i1 = i0 < inSize - 1 ? i0 + 1 : i0;
        return (i0, i1, src - T.CreateTruncating(i0));
    }

    public static void Forward<T>(Span<T> y, ReadOnlySpan<T> x, Dims n) where T : IFloatingPointIeee754<T>
    {
        for (var m = 0; m < n.Maps; m++)
            for (var oy = 0; oy < n.OutH; oy++)
            {
                var (y0, y1, ly) = Tap<T>(oy, n.InH, n.OutH);
                var r0 = x.Slice((m * n.InH + y0) * n.InW, n.InW);
                var r1 = x.Slice((m * n.InH + y1) * n.InW, n.InW);
                for (var ox = 0; ox < n.OutW; ox++)
                {
                    var (x0, x1, lx) = Tap<T>(ox, n.InW, n.OutW);
                    var top = (T.One - lx) * r0[x0] + lx * r0[x1];
                    var bottom = (T.One - lx) * r1[x0] + lx * r1[x1];
                    y[(m * n.OutH + oy) * n.OutW + ox] = (T.One - ly) * top + ly * bottom;
                }
            }
    }

    /// <summary>dx overwritten with the transpose of the forward applied to dy.</summary>
    public static void Backward<T>(Span<T> dx, ReadOnlySpan<T> dy, Dims n) where T : IFloatingPointIeee754<T>
    {
        dx.Clear();
        for (var m = 0; m < n.Maps; m++)
            for (var oy = 0; oy < n.OutH; oy++)
            {
                var (y0, y1, ly) = Tap<T>(oy, n.InH, n.OutH);
                for (var ox = 0; ox < n.OutW; ox++)
                {
                    var (x0, x1, lx) = Tap<T>(ox, n.InW, n.OutW);
                    var g = dy[(m * n.OutH + oy) * n.OutW + ox];
                    int r0 = (m * n.InH + y0) * n.InW, r1 = (m * n.InH + y1) * n.InW;
                    dx[r0 + x0] += (T.One - ly) * (T.One - lx) * g;
                    dx[r0 + x1] += (T.One - ly) * lx * g;
                    dx[r1 + x0] += ly * (T.One - lx) * g;
                    dx[r1 + x1] += ly * lx * g;
                }
            }
    }
}
