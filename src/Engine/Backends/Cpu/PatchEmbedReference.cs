using System.Numerics;
using Tensor = BayesPfl.Engine.Tensors.Tensor;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Patch embedding = Conv2d with kernel = stride = p and no bias, written as im2col + GEMM:
/// col[b·P + py·gw + px, (c·p + ky)·p + kx] = image[b, c, py·p + ky, px·p + kx], then y[B·P, C] = col · wᵀ
/// (w[C, Cin, p, p] read as [C, Cin·p·p], which is why the column order is (c, ky, kx)).
/// Same argument order and column layout as src/Kernels/patch_embed.cu.
/// </summary>
public static class PatchEmbedReference
{
    /// <summary>Sizes of one patch-embedding call: image [Batch, InChannels, Height, Width], patch side Patch.</summary>
    public readonly record struct Dims(int Batch, int InChannels, int Height, int Width, int Patch, int Channels)
    {
        public int GridW => Width / Patch;

        public int Patches => Height / Patch * GridW;

        /// <summary>Length of one im2col row: InChannels·p·p.</summary>
        public int Taps => InChannels * Patch * Patch;
    }

    public static Dims CheckShapes(string op, Tensor y, Tensor image, Tensor w)
    {
        Check.F32(op, y, image, w);
        Check.Rank(op, image, 4);
        Check.Rank(op, w, 4);
        int b = image.Shape[0], cin = image.Shape[1], hin = image.Shape[2], win = image.Shape[3], c = w.Shape[0], p = w.Shape[2];
        Check.That(p >= 1 && w.Shape[3] == p, op, $"{w.Name} has shape {w.Shape}: the patch must be square and non-empty");
        Check.Shape(op, w, c, cin, p, p);
        Check.That(hin % p == 0 && win % p == 0, op,
            $"{image.Name} has shape {image.Shape}: height {hin} and width {win} must be multiples of the patch size {p} (from {w.Name} {w.Shape})");
        var n = new Dims(b, cin, hin, win, p, c);
        Check.Shape(op, y, b, n.Patches, c);
        return n;
    }

    /// <summary>col[B·P, Cin·p·p] from image[B, Cin, H, W].</summary>
    public static void Im2Col<T>(Span<T> col, ReadOnlySpan<T> image, Dims n) where T : IFloatingPointIeee754<T>
    {
        int p = n.Patch, taps = n.Taps;
        for (var b = 0; b < n.Batch; b++)
            for (var patch = 0; patch < n.Patches; patch++)
            {
                int py = patch / n.GridW, px = patch % n.GridW;
                var row = col.Slice((b * n.Patches + patch) * taps, taps);
                for (var c = 0; c < n.InChannels; c++)
                    for (var ky = 0; ky < p; ky++)
                    {
                        var src = image.Slice(((b * n.InChannels + c) * n.Height + py * p + ky) * n.Width + px * p, p);
                        src.CopyTo(row.Slice((c * p + ky) * p, p));
                    }
            }
    }

    /// <summary>y[B, P, C] = im2col(image) · w[C, Cin·p·p]ᵀ.</summary>
    public static void Forward<T>(Span<T> y, ReadOnlySpan<T> image, ReadOnlySpan<T> w, Dims n) where T : IFloatingPointIeee754<T>
    {
        var taps = n.Taps;
        var col = new T[n.Batch * n.Patches * taps];
        Im2Col<T>(col, image, n);
        for (var r = 0; r < n.Batch * n.Patches; r++)
        {
            var row = new ReadOnlySpan<T>(col, r * taps, taps);
            for (var c = 0; c < n.Channels; c++) y[r * n.Channels + c] = TensorPrimitives.Dot(row, w.Slice(c * taps, taps));
        }
    }
}
