using System.Numerics;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// The pointwise parts of the prompt-flow module: the Encoder's reparameterised base sample (spec 5.1) and
/// the assembly of the learnable prompt blocks (spec 4.4, 6). Same argument order as the kernels
/// flow_base_sample_forward and flow_prompt_blocks_forward in src/Kernels/planar_flow.cu.
/// </summary>
public static class PromptFlowReference
{
    /// <summary>Samples R, dimension D; Shared = mu and h are one row for all samples.</summary>
    public readonly record struct SampleDims(int Samples, int Dim, bool Shared);

    /// <summary>Bank entries B, samples R, tokens per half S, width C.</summary>
    public readonly record struct BlockDims(int Bank, int Samples, int Tokens, int Width);

    public static SampleDims CheckSample(string op, Tensor z0, Tensor v, Tensor mu, Tensor h, Tensor eps)
    {
        Check.F32(op, z0, v, mu, h, eps);
        Check.Rank(op, eps, 2);
        Check.Rank(op, mu, 2);
        int r = eps.Shape[0], d = eps.Shape[1], p = mu.Shape[0];
        Check.That(p == r || p == 1, op, $"{mu.Name} has shape {mu.Shape}; its first dim must be R = {r} or 1");
        Check.Shape(op, mu, p, d);
        Check.Shape(op, h, p, d);
        Check.Shape(op, v, p, d);
        Check.Shape(op, z0, r, d);
        return new SampleDims(r, d, p == 1 && r != 1);
    }

    public static void Sample<T>(Span<T> z0, Span<T> v, ReadOnlySpan<T> mu, ReadOnlySpan<T> h, ReadOnlySpan<T> eps, SampleDims n)
        where T : IFloatingPointIeee754<T>
    {
        var half = T.CreateTruncating(0.5);
        for (var i = 0; i < v.Length; i++) v[i] = T.Exp(half * h[i]);
        for (var r = 0; r < n.Samples; r++)
            for (var d = 0; d < n.Dim; d++)
            {
                var p = (n.Shared ? 0 : r) * n.Dim + d;
                z0[r * n.Dim + d] = mu[p] + T.Sqrt(v[p]) * eps[r * n.Dim + d];
            }
    }

    public static SampleDims CheckSampleBackward(string op, Tensor dmu, Tensor dh, Tensor dz0, Tensor? dv, Tensor v, Tensor eps)
    {
        var n = CheckSample(op, dz0, v, dmu, dh, eps);
        Check.F32(op, dv);
        if (dv is not null) Check.SameShape(op, dv, v);
        return n;
    }

    /// <summary>
    /// dmu[p] = Σ_r dz0[r]; dh[p] = Σ_r dz0[r]·eps[r]·0.25·sqrt(v[p]) (+ dv[p]·0.5·v[p]); r runs over the
    /// samples that used row p, in increasing order. dmu, dh overwritten.
    /// </summary>
    public static void SampleBackward<T>(Span<T> dmu, Span<T> dh, ReadOnlySpan<T> dz0, ReadOnlySpan<T> dv, ReadOnlySpan<T> v,
        ReadOnlySpan<T> eps, SampleDims n) where T : IFloatingPointIeee754<T>
    {
        var quarter = T.CreateTruncating(0.25);
        var half = T.CreateTruncating(0.5);
        var rows = n.Shared ? 1 : n.Samples;
        for (var p = 0; p < rows; p++)
            for (var d = 0; d < n.Dim; d++)
            {
                var i = p * n.Dim + d;
                T sumZ = T.Zero, sumE = T.Zero;
                for (var r = n.Shared ? 0 : p; r < (n.Shared ? n.Samples : p + 1); r++)
                {
                    sumZ += dz0[r * n.Dim + d];
                    sumE += dz0[r * n.Dim + d] * eps[r * n.Dim + d];
                }
                dmu[i] = sumZ;
                dh[i] = sumE * quarter * T.Sqrt(v[i]) + (dv.IsEmpty ? T.Zero : dv[i] * half * v[i]);
            }
    }

    public static BlockDims CheckBlocks(string op, Tensor blocks, Tensor ctx, Tensor stateNormal, Tensor stateAbnormal, Tensor zc, Tensor zn, Tensor za)
    {
        Check.F32(op, blocks, ctx, stateNormal, stateAbnormal, zc, zn, za);
        Check.Rank(op, ctx, 3);
        Check.Rank(op, zc, 2);
        int bank = ctx.Shape[0], tokens = ctx.Shape[1], width = ctx.Shape[2], r = zc.Shape[0];
        Check.Shape(op, stateNormal, bank, tokens, width);
        Check.Shape(op, stateAbnormal, bank, tokens, width);
        Check.Shape(op, zc, r, width);
        Check.Shape(op, zn, r, width);
        Check.Shape(op, za, r, width);
        Check.Shape(op, blocks, 2 * bank * r, 2 * tokens, width);
        return new BlockDims(bank, r, tokens, width);
    }

    public static void Blocks<T>(Span<T> blocks, ReadOnlySpan<T> ctx, ReadOnlySpan<T> stateNormal, ReadOnlySpan<T> stateAbnormal,
        ReadOnlySpan<T> zc, ReadOnlySpan<T> zn, ReadOnlySpan<T> za, BlockDims n) where T : IFloatingPointIeee754<T>
    {
        int s = n.Tokens, c = n.Width;
        for (var half = 0; half < 2; half++)
            for (var r = 0; r < n.Samples; r++)
                for (var b = 0; b < n.Bank; b++)
                {
                    var block = blocks.Slice(((half * n.Samples + r) * n.Bank + b) * 2 * s * c, 2 * s * c);
                    var state = half == 0 ? stateNormal : stateAbnormal;
                    var zs = (half == 0 ? zn : za).Slice(r * c, c);
                    for (var t = 0; t < s; t++)
                        for (var i = 0; i < c; i++)
                        {
                            block[t * c + i] = ctx[(b * s + t) * c + i] + zc[r * c + i];
                            block[(s + t) * c + i] = state[(b * s + t) * c + i] + zs[i];
                        }
                }
    }

    public static BlockDims CheckBlocksBackward(string op, Tensor dctx, Tensor dstateNormal, Tensor dstateAbnormal, Tensor dzc, Tensor dzn, Tensor dza, Tensor dblocks) =>
        CheckBlocks(op, dblocks, dctx, dstateNormal, dstateAbnormal, dzc, dzn, dza);

    /// <summary>
    /// Transpose of <see cref="Blocks{T}"/>. dctx[b,t] += Σ_half Σ_r dblocks[(half·R + r)·B + b, t];
    /// dstate_half[b,t] += Σ_r dblocks[(half·R + r)·B + b, S + t] (accumulate: parameters);
    /// dzc[r] = Σ_half Σ_b Σ_t dblocks[.., t]; dz_half[r] = Σ_b Σ_t dblocks[.., S + t] (overwritten).
    /// Each sum runs in the order written, as the kernel's.
    /// </summary>
    public static void BlocksBackward<T>(Span<T> dctx, Span<T> dstateNormal, Span<T> dstateAbnormal, Span<T> dzc, Span<T> dzn, Span<T> dza,
        ReadOnlySpan<T> dblocks, BlockDims n) where T : IFloatingPointIeee754<T>
    {
        int s = n.Tokens, c = n.Width;
        int At(int half, int r, int b, int row, int i) => ((((half * n.Samples + r) * n.Bank + b) * 2 * s) + row) * c + i;
        for (var b = 0; b < n.Bank; b++)
            for (var t = 0; t < s; t++)
                for (var i = 0; i < c; i++)
                {
                    T sc = T.Zero, sn = T.Zero, sa = T.Zero;
                    for (var r = 0; r < n.Samples; r++)
                    {
                        sn += dblocks[At(0, r, b, s + t, i)];
                        sa += dblocks[At(1, r, b, s + t, i)];
                    }
                    for (var half = 0; half < 2; half++)
                        for (var r = 0; r < n.Samples; r++) sc += dblocks[At(half, r, b, t, i)];
                    var at = (b * s + t) * c + i;
                    dctx[at] += sc;
                    dstateNormal[at] += sn;
                    dstateAbnormal[at] += sa;
                }
        for (var r = 0; r < n.Samples; r++)
            for (var i = 0; i < c; i++)
            {
                T sc = T.Zero, sn = T.Zero, sa = T.Zero;
                for (var b = 0; b < n.Bank; b++)
                    for (var t = 0; t < s; t++)
                    {
                        sc += dblocks[At(0, r, b, t, i)];
                        sn += dblocks[At(0, r, b, s + t, i)];
                        sa += dblocks[At(1, r, b, s + t, i)];
                    }
                for (var b = 0; b < n.Bank; b++)
                    for (var t = 0; t < s; t++) sc += dblocks[At(1, r, b, t, i)];
                dzc[r * c + i] = sc;
                dzn[r * c + i] = sn;
                dza[r * c + i] = sa;
            }
    }
}
