using System.Numerics;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The small losses of spec §9.2 on host spans (their tensors are a few kilobytes; the trainer downloads
/// them), generic so that they run in double for finite differences. Each returns the loss and writes the
/// gradient of (upstream · loss) into the d* spans (overwritten).
/// </summary>
public static class SmallLosses
{
    /// <summary>
    /// L_cls: mean over N of cross-entropy on logits[N,2] (column 0 normal, 1 abnormal) against labels[N] ∈ {0,1};
    /// dlogits = upstream · (softmax − onehot) / N.
    /// </summary>
    public static double CrossEntropy<T>(Span<T> dlogits, ReadOnlySpan<T> logits, ReadOnlySpan<int> labels, double upstream)
        where T : IFloatingPointIeee754<T>
    {
        var n = labels.Length;
        if (logits.Length != 2 * n || dlogits.Length != 2 * n)
            throw new ArgumentException($"CrossEntropy: logits {logits.Length} and dlogits {dlogits.Length} values, expected [{n},2] for {n} labels");
        double loss = 0;
        for (var i = 0; i < n; i++)
        {
            if (labels[i] is not (0 or 1)) throw new ArgumentException($"CrossEntropy: labels[{i}] = {labels[i]}, expected 0 or 1");
            double z0 = double.CreateChecked(logits[2 * i]), z1 = double.CreateChecked(logits[2 * i + 1]);
            var m = Math.Max(z0, z1);
            var lse = m + Math.Log(Math.Exp(z0 - m) + Math.Exp(z1 - m));
            loss += lse - (labels[i] == 1 ? z1 : z0);
            double p0 = Math.Exp(z0 - lse), p1 = Math.Exp(z1 - lse);
            dlogits[2 * i] = T.CreateChecked(upstream * (p0 - (labels[i] == 0 ? 1 : 0)) / n);
            dlogits[2 * i + 1] = T.CreateChecked(upstream * (p1 - (labels[i] == 1 ? 1 : 0)) / n);
        }
        return loss / n;
    }

    /// <summary>
    /// One half of L_orth: for t[N,K,C] (K = 3 embeddings per image), Σ_i Σ_{j≠k} cos²(t_ij, t_ik) / (N·K·K),
    /// the diagonal counted in the divisor as in the reference. The cosine normalises its inputs, so the
    /// gradient is right for any t (for unit rows it is the dot-product gradient minus its radial part).
    /// </summary>
    public static double Orthogonality<T>(Span<T> dt, ReadOnlySpan<T> t, int n, int k, int c, double upstream)
        where T : IFloatingPointIeee754<T>
    {
        if (t.Length != (long)n * k * c || dt.Length != t.Length)
            throw new ArgumentException($"Orthogonality: t {t.Length} and dt {dt.Length} values, expected [{n},{k},{c}]");
        dt.Clear();
        var norms = new double[k];
        double loss = 0, scale = 1.0 / ((double)n * k * k);
        for (var i = 0; i < n; i++)
        {
            var rows = i * k * c;
            for (var j = 0; j < k; j++) norms[j] = Math.Sqrt(Dot(t, rows + j * c, rows + j * c, c));
            for (var j = 0; j < k; j++)
            {
                for (var l = 0; l < k; l++)
                {
                    if (j == l) continue;
                    var cos = Dot(t, rows + j * c, rows + l * c, c) / (norms[j] * norms[l]);
                    loss += cos * cos;
                    // d cos / d t_j = t_l/(|t_j||t_l|) − cos·t_j/|t_j|². cos² of the pair appears twice, as (j,l)
                    // and (l,j), and this loop visits t_j only through (j,·): hence 2 · 2cos.
                    var g = upstream * scale * 4 * cos;
                    for (var x = 0; x < c; x++)
                    {
                        double a = double.CreateChecked(t[rows + j * c + x]), b = double.CreateChecked(t[rows + l * c + x]);
                        dt[rows + j * c + x] += T.CreateChecked(g * (b / (norms[j] * norms[l]) - cos * a / (norms[j] * norms[j])));
                    }
                }
            }
        }
        return loss * scale;
    }

    private static double Dot<T>(ReadOnlySpan<T> t, int a, int b, int c) where T : IFloatingPointIeee754<T>
    {
        double s = 0;
        for (var x = 0; x < c; x++) s += double.CreateChecked(t[a + x]) * double.CreateChecked(t[b + x]);
        return s;
    }
}
