using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Training.Heads;

namespace BayesPfl.Engine.Training;

/// <summary>The head's loss terms of one step: L_cls, per tapped layer the focal and dice terms, L_orth.</summary>
public sealed record HeadLosses(double Cls, double[] Focal, double[] Dice, double Orth);

/// <summary>
/// Forward and backward of the head's losses (spec 7.1-7.3, 9.2, 9.3) for a batch of N images, on top of the
/// text embeddings the prompt flows and text tower produced. Stage one: L_cls + Σ_j (focal_j + dice_j) + L_orth,
/// gradients into RCA, class_mapping and both temperatures and back to the text; stage two: L_cls with the
/// fused image embedding, gradients into class_mapping, image_mapping and fuse only. Parameter gradients
/// ACCUMULATE into <see cref="HeadParameters.Grad"/>; dtext is OVERWRITTEN. Deterministic: fixed-order
/// device ops, host sums in double.
/// </summary>
public sealed class HeadLossTraining(IBackend backend, HeadParameters p) : IDisposable
{
    /// <summary>Activations and workspace of the last <see cref="Run"/>, in bytes (for the memory plan).</summary>
    public long SavedBytes { get; private set; }

    /// <summary>
    /// text [2·B·N,C]: normalised CLIP text outputs, row half·B·N + i·B + b (normal half first); g [N,C] raw
    /// global image embeddings; taps [N,P,Cv] (CLS dropped, layer order 6, 12, 18, 24); labels [N] ∈ {0,1};
    /// masks [N,S,S] ∈ {0,1}; bankIndex b* ∈ [0,B). dtext [2·B·N,C] is overwritten (zero in stage two).
    /// </summary>
    public HeadLosses Run(Tensor dtext, Tensor text, Tensor g, IReadOnlyList<Tensor> taps, ReadOnlySpan<int> labels,
        Tensor masks, int bankIndex, TrainingStage stage)
    {
        var cfg = p.Config;
        int n = g.Shape[0], c = cfg.Embed, bank = cfg.Bank;
        CheckInputs(dtext, text, g, taps, labels, masks, bankIndex, n);
        var stage2 = stage == TrainingStage.Two;
        var weights = p.AsWeights(stage2);
        using var ws = new Workspace(backend);
        var flatTaps = taps.Select(t => t.Reshape(n * t.Shape[1], t.Shape[2])).ToArray();

        // The two supervised texts of image i (spec 9.1), rows 2i (normal b*) and 2i+1 (abnormal b*).
        var tsel = ws.Get("head.text_selected", 2 * n, c);
        for (var i = 0; i < n; i++)
            for (var half = 0; half < 2; half++)
                backend.Copy(Row(tsel, 2 * i + half), Row(text, half * bank * n + i * bank + bankIndex));
        var dtsel = stage2 ? null : ws.Get("head.dtext_selected", 2 * n, c);
        var cls = new ClassificationTraining(ws, p, new ImageBranch(backend, weights))
            .Run(dtsel, tsel, g, flatTaps, labels, weights.TauImage, stage2);
        if (stage2)
        {
            backend.Zero(dtext);
            SavedBytes = ws.Bytes;
            return new HeadLosses(cls, new double[cfg.Taps], new double[cfg.Taps], 0);
        }

        var (focal, dice) = new PixelLossTraining(ws, p, new Rca(backend, weights)).Run(dtsel!, tsel, flatTaps, masks, weights.TauPixel);
        var orth = TextGradient(dtext, text, ws.Download(dtsel!), n, bankIndex);
        SavedBytes = ws.Bytes;
        return new HeadLosses(cls, focal, dice, orth);
    }

    /// <summary>
    /// dtext = ∂L_orth/∂text (spec 9.2; each half is [N,B,C] with image i's B rows contiguous) plus the selected
    /// rows' gradient; returns L_orth. Done on the host in double: the text is 2·B·N rows.
    /// </summary>
    private double TextGradient(Tensor dtext, Tensor text, float[] dtsel, int n, int bankIndex)
    {
        int c = p.Config.Embed, bank = p.Config.Bank, half = n * bank * c;
        var t = new float[text.Length];
        backend.Download(text, t);
        var d = new double[t.Length];
        var td = Array.ConvertAll(t, x => (double)x);
        double orth = 0;
        for (var h = 0; h < 2; h++)
            orth += SmallLosses.Orthogonality<double>(d.AsSpan(h * half, half), td.AsSpan(h * half, half), n, bank, c, 1);
        for (var i = 0; i < n; i++)
            for (var h = 0; h < 2; h++)
            {
                var row = (h * bank * n + i * bank + bankIndex) * c;
                for (var x = 0; x < c; x++) d[row + x] += dtsel[(2 * i + h) * c + x];
            }
        backend.Upload(dtext, Array.ConvertAll(d, x => (float)x));
        return orth;
    }

    private static Tensor Row(Tensor t, int row) => t.View((long)row * t.Shape[1], new Shape(t.Shape[1]), $"{t.Name}[{row}]");

    private void CheckInputs(Tensor dtext, Tensor text, Tensor g, IReadOnlyList<Tensor> taps, ReadOnlySpan<int> labels, Tensor masks, int bankIndex, int n)
    {
        var cfg = p.Config;
        const string op = "HeadLossTraining.Run";
        Check.Shape(op, g, n, cfg.Embed);
        Check.Shape(op, text, 2 * cfg.Bank * n, cfg.Embed);
        Check.Shape(op, dtext, 2 * cfg.Bank * n, cfg.Embed);
        Check.That(taps.Count == cfg.Taps, op, $"got {taps.Count} taps, the head has {cfg.Taps}");
        foreach (var tap in taps) Check.Shape(op, tap, n, taps[0].Shape[1], cfg.VisionWidth);
        Check.That(labels.Length == n, op, $"{labels.Length} labels for {n} images");
        Check.That(masks.Shape.Rank == 3 && masks.Shape[0] == n && masks.Shape[1] == masks.Shape[2], op,
            $"{masks.Name} is {masks.Shape}, expected [{n},S,S]");
        Check.That(bankIndex >= 0 && bankIndex < cfg.Bank, op, $"bank index {bankIndex} outside [0,{cfg.Bank})");
    }

    /// <summary>Nothing is held between runs (each run frees its workspace); kept for the owners' using blocks.</summary>
    public void Dispose()
    {
    }
}
