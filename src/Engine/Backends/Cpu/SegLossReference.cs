using System.Numerics;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// The segmentation loss of src/Kernels/losses.cu (spec §9.2), generic so that it runs in double for
/// finite differences. Sums accumulate in double whatever T is, so the float instance is a tighter
/// reference than the kernel's float block sums. Argument order as the kernels: outputs, saved, inputs, sizes, scalars.
/// </summary>
public static class SegLossReference
{
    public const double FocalEps = 1e-8;
    public const double DiceEps = 1e-5;

    /// <summary>loss[2] = (focal, dice); stats[8] = #G=1, #G=0, Σ_{G=1} fl, Σ_{G=0} fl, ΣP₁G, ΣP₁, ΣG, 0.</summary>
    public static void Forward<T>(Span<T> loss, Span<T> stats, ReadOnlySpan<T> logits, ReadOnlySpan<T> mask, int bt, int plane)
        where T : IFloatingPointIeee754<T>
    {
        Span<double> s = stackalloc double[7];
        s.Clear();
        for (var b = 0; b < bt; b++)
        {
            for (var p = 0; p < plane; p++)
            {
                var (p0, p1) = Softmax2(logits, b, p, plane);
                var pos = double.CreateChecked(mask[b * plane + p]) > 0.5;
                double pt = pos ? p1 : p0, q = 1 - pt, fl = -q * q * Math.Log(pt + FocalEps), g = pos ? 1 : 0;
                s[0] += g;
                s[1] += 1 - g;
                s[pos ? 2 : 3] += fl;
                s[4] += p1 * g;
                s[5] += p1;
                s[6] += g;
            }
        }
        for (var k = 0; k < 7; k++) stats[k] = T.CreateChecked(s[k]);
        stats[7] = T.Zero;
        loss[0] = T.CreateChecked(s[2] / (s[0] + FocalEps) + s[3] / (s[1] + FocalEps));
        loss[1] = T.CreateChecked(1 - (2 * s[4] + DiceEps) / (s[5] + s[6] + DiceEps));
    }

    /// <summary>dlogits = dFocal·∂focal/∂logits + dDice·∂dice/∂logits (overwritten), from the saved stats.</summary>
    public static void Backward<T>(Span<T> dlogits, ReadOnlySpan<T> stats, ReadOnlySpan<T> logits, ReadOnlySpan<T> mask, int bt, int plane, double dFocal, double dDice)
        where T : IFloatingPointIeee754<T>
    {
        double w1 = dFocal / (double.CreateChecked(stats[0]) + FocalEps), w0 = dFocal / (double.CreateChecked(stats[1]) + FocalEps);
        double inter = 2 * double.CreateChecked(stats[4]) + DiceEps, uni = double.CreateChecked(stats[5]) + double.CreateChecked(stats[6]) + DiceEps;
        var diceScale = dDice / (uni * uni);
        for (var b = 0; b < bt; b++)
        {
            for (var p = 0; p < plane; p++)
            {
                var (p0, p1) = Softmax2(logits, b, p, plane);
                var pos = double.CreateChecked(mask[b * plane + p]) > 0.5;
                double pt = pos ? p1 : p0, q = 1 - pt, lg = pt + FocalEps;
                var dfl = (2 * q * Math.Log(lg) - q * q / lg) * (pos ? w1 : w0);
                var dDiceDp1 = -(2 * (pos ? 1 : 0) * uni - inter) * diceScale;
                var dz1 = p0 * p1 * ((pos ? dfl : -dfl) + dDiceDp1);
                dlogits[(b * 2 + 1) * plane + p] = T.CreateChecked(dz1);
                dlogits[b * 2 * plane + p] = T.CreateChecked(-dz1);
            }
        }
    }

    /// <summary>The two channel probabilities of pixel p of image b, max-subtracted as PyTorch's softmax.</summary>
    private static (double P0, double P1) Softmax2<T>(ReadOnlySpan<T> logits, int b, int p, int plane) where T : IFloatingPointIeee754<T>
    {
        double z0 = double.CreateChecked(logits[b * 2 * plane + p]), z1 = double.CreateChecked(logits[(b * 2 + 1) * plane + p]);
        var m = Math.Max(z0, z1);
        double e0 = Math.Exp(z0 - m), e1 = Math.Exp(z1 - m), inv = 1 / (e0 + e1);
        return (e0 * inv, e1 * inv);
    }
}
