using System.Numerics;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Test-time anomaly map of spec 7.3: map[H, W] = (1/(L·M)) Σ_j Σ_m sigmoid(scale · up(s[j, m+M] − s[j, m])),
/// s[L, 2M, h, w], up = bilinear align_corners=True (<see cref="UpsampleReference"/>). <see cref="Forward{T}"/>
/// is the fused form (per output pixel, taps once, sum over j then m, as src/Kernels/similarity_map.cu);
/// <see cref="Unfused{T}"/> restates the spec literally (difference → up-sample → sigmoid → mean) and is what
/// the fused forms are tested against. Same argument order as the kernel: map, s, sizes, scale.
/// </summary>
public static class SimilarityMapReference
{
    /// <summary>Layers L, pairs M (s holds 2M maps per layer), grid h x w, output H x W.</summary>
    public readonly record struct Dims(int Layers, int Pairs, int InH, int InW, int OutH, int OutW);

    public static Dims CheckShapes(string op, Tensor map, Tensor s)
    {
        Check.F32(op, map, s);
        Check.Rank(op, s, 4);
        Check.Rank(op, map, 2);
        int layers = s.Shape[0], maps = s.Shape[1], h = s.Shape[2], w = s.Shape[3];
        Check.That(layers >= 1 && maps >= 2 && maps % 2 == 0, op,
            $"{s.Name} has shape {s.Shape}; expected [L>=1, 2M>=2 (normal maps then abnormal maps), h, w]");
        Check.That(h >= 1 && w >= 1 && map.Shape[0] >= 1 && map.Shape[1] >= 1, op,
            $"{s.Name} {s.Shape} and {map.Name} {map.Shape}: spatial sizes must be >= 1");
        return new Dims(layers, maps / 2, h, w, map.Shape[0], map.Shape[1]);
    }

    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    public static void Forward<T>(Span<T> map, ReadOnlySpan<T> s, Dims n, T scale) where T : IFloatingPointIeee754<T>
    {
        int plane = n.InH * n.InW, pairs = n.Pairs;
        var inv = T.One / T.CreateTruncating(n.Layers * pairs);
        for (var oy = 0; oy < n.OutH; oy++)
        {
            var (y0, y1, ly) = UpsampleReference.Tap<T>(oy, n.InH, n.OutH);
            for (var ox = 0; ox < n.OutW; ox++)
            {
                var (x0, x1, lx) = UpsampleReference.Tap<T>(ox, n.InW, n.OutW);
                int i00 = y0 * n.InW + x0, i01 = y0 * n.InW + x1, i10 = y1 * n.InW + x0, i11 = y1 * n.InW + x1;
                var sum = T.Zero;
                for (var j = 0; j < n.Layers; j++)
                    for (var m = 0; m < pairs; m++)
                    {
                        var nrm = s.Slice((j * 2 * pairs + m) * plane, plane);
                        var abn = s.Slice((j * 2 * pairs + m + pairs) * plane, plane);
                        var top = (T.One - lx) * (abn[i00] - nrm[i00]) + lx * (abn[i01] - nrm[i01]);
                        var bottom = (T.One - lx) * (abn[i10] - nrm[i10]) + lx * (abn[i11] - nrm[i11]);
                        sum += Sigmoid(scale * ((T.One - ly) * top + ly * bottom));
                    }
                map[oy * n.OutW + ox] = sum * inv;
            }
        }
    }

    public static Dims CheckBackward(string op, Tensor ds, Tensor dmap, Tensor s)
    {
        var n = CheckShapes(op, dmap, s);
        Check.F32(op, ds);
        Check.SameShape(op, ds, s);
        return n;
    }

    /// <summary>
    /// Scatter form of the gradient (the kernel gathers): each output pixel recomputes its difference d = scale ·
    /// up(s[j,m+M] − s[j,m]) and adds g = dmap·σ(d)·(1 − σ(d))·scale/(L·M) times each tap weight to the
    /// abnormal cell and subtracts it from the normal cell. ds overwritten.
    /// </summary>
    public static void Backward<T>(Span<T> ds, ReadOnlySpan<T> dmap, ReadOnlySpan<T> s, Dims n, T scale) where T : IFloatingPointIeee754<T>
    {
        int plane = n.InH * n.InW, pairs = n.Pairs;
        var inv = scale / T.CreateTruncating(n.Layers * pairs);
        ds.Clear();
        for (var oy = 0; oy < n.OutH; oy++)
        {
            var (y0, y1, ly) = UpsampleReference.Tap<T>(oy, n.InH, n.OutH);
            for (var ox = 0; ox < n.OutW; ox++)
            {
                var (x0, x1, lx) = UpsampleReference.Tap<T>(ox, n.InW, n.OutW);
                Span<int> cell = [y0 * n.InW + x0, y0 * n.InW + x1, y1 * n.InW + x0, y1 * n.InW + x1];
                Span<T> weight = [(T.One - ly) * (T.One - lx), (T.One - ly) * lx, ly * (T.One - lx), ly * lx];
                for (var j = 0; j < n.Layers; j++)
                    for (var m = 0; m < pairs; m++)
                    {
                        var nrm = (j * 2 * pairs + m) * plane;
                        var abn = (j * 2 * pairs + m + pairs) * plane;
                        var d = T.Zero;
                        for (var q = 0; q < 4; q++) d += weight[q] * (s[abn + cell[q]] - s[nrm + cell[q]]);
                        var sig = Sigmoid(scale * d);
                        var g = dmap[oy * n.OutW + ox] * sig * (T.One - sig) * inv;
                        for (var q = 0; q < 4; q++)
                        {
                            ds[abn + cell[q]] += weight[q] * g;
                            ds[nrm + cell[q]] -= weight[q] * g;
                        }
                    }
            }
        }
    }

    /// <summary>The spec's literal order, materialising every full-size difference map (tests only).</summary>
    public static void Unfused<T>(Span<T> map, ReadOnlySpan<T> s, Dims n, T scale) where T : IFloatingPointIeee754<T>
    {
        int plane = n.InH * n.InW, outPlane = n.OutH * n.OutW, count = n.Layers * n.Pairs;
        var diff = new T[count * plane];
        for (var j = 0; j < n.Layers; j++)
            for (var m = 0; m < n.Pairs; m++)
                for (var i = 0; i < plane; i++)
                {
                    var nrm = s[(j * 2 * n.Pairs + m) * plane + i];
                    var abn = s[(j * 2 * n.Pairs + m + n.Pairs) * plane + i];
                    diff[(j * n.Pairs + m) * plane + i] = scale * (abn - nrm);
                }
        var up = new T[count * outPlane];
        UpsampleReference.Forward<T>(up, diff, new UpsampleReference.Dims(count, n.InH, n.InW, n.OutH, n.OutW));
        map.Clear();
        for (var c = 0; c < count; c++)
            for (var i = 0; i < outPlane; i++) map[i] += Sigmoid(up[c * outPlane + i]);
        var inv = T.One / T.CreateTruncating(count);
        for (var i = 0; i < outPlane; i++) map[i] *= inv;
    }
}
