using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Training.Heads;

/// <summary>
/// L_seg of spec 9.2 with its backward, batched over N images, one tapped layer at a time (forward then
/// backward, so the full-size buffers are reused across layers): RCA (spec 7.2, the inference <see cref="Rca"/>)
/// on the two selected texts of each image against its keys, S_j = exp(tau_pix)·T'·Kᵀ [N,2,g,g], bilinear
/// align_corners up-sampling to S×S, SegLoss. The grid logits go through the host (2·N·g² values) to apply the
/// temperature and to sum its gradient in double, which keeps both deterministic without a scaling op.
/// </summary>
internal sealed class PixelLossTraining(Workspace ws, HeadParameters p, Rca rca)
{
    private readonly IBackend be = ws.Backend;

    /// <summary>
    /// tsel [2N,C] (image i's normal then abnormal text), taps [N·P,Cv] each, masks [N,S,S]. Accumulates the RCA
    /// and temperature_pixel gradients and ADDS the text gradient into dtsel [2N,C]; returns (focal, dice) per layer.
    /// </summary>
    public (double[] Focal, double[] Dice) Run(Tensor dtsel, Tensor tsel, IReadOnlyList<Tensor> taps, Tensor masks, float tauPixel)
    {
        var cfg = p.Config;
        int c = cfg.Embed, n = masks.Shape[0], side = masks.Shape[1], patches = taps[0].Shape[0] / n;
        var grid = (int)Math.Round(Math.Sqrt(patches));
        Check.That(grid * grid == patches && patches * n == taps[0].Shape[0], "HeadLossTraining",
            $"{taps[0].Name}{taps[0].Shape} is not {n} images of a square patch grid");
        var saved = RcaSaved.Allocate(be, cfg, n, patches, 2, "RCA.train");
        ws.Keep(saved, saved.Bytes);
        var q = ws.Get("RCA.q", 2 * n, c);
        var keys = ws.Get("RCA.keys", n * patches, c);
        var tPrime = ws.Get("RCA.text", 2 * n, c);
        var s = ws.Get("pixel.s", n, 2, patches);
        var up = ws.Get("pixel.up", n, 2, side, side);
        var dup = ws.Get("pixel.dup", n, 2, side, side);
        var loss = ws.Get("pixel.seg_loss", 2);
        var stats = ws.Get("pixel.seg_stats", 8);
        var dgrid = ws.Get("pixel.dgrid", n, 2, grid, grid);
        var dsT = ws.Get("pixel.dsT", n, patches, 2);
        var dtPrime = ws.Get("RCA.dtext", 2 * n, c);
        var dsum = ws.Get("RCA.dsum", 2 * n, c);
        var dq = ws.Get("RCA.dq", 2 * n, c);
        var dqTotal = ws.Get("RCA.dq_total", 2 * n, c);
        var dkeys = ws.Get("RCA.dkeys", n * patches, c);
        var dk = ws.Get("RCA.dk", n * patches, c);
        var dv = ws.Get("RCA.dv", n * patches, c);
        var dtextQuery = ws.Get("RCA.dtext_query", 2 * n, c);
        be.Zero(dqTotal);
        rca.Query(q, tsel);

        var alpha = Math.Exp(tauPixel);
        var q3 = q.Reshape(n, 2, c);
        var k3 = keys.Reshape(n, patches, c);
        double[] focal = new double[taps.Count], dice = new double[taps.Count];
        double dtau = 0;
        for (var j = 0; j < taps.Count; j++)
        {
            rca.Layer(j, tPrime, keys, saved, taps[j], q, tsel);
            be.BatchedMatMul(s, tPrime.Reshape(n, 2, c), k3, transposeB: true);
            var raw = ws.Download(s);
            be.Upload(s, raw.Select(x => (float)(alpha * x)).ToArray());
            be.UpsampleBilinear(up, s.Reshape(n, 2, grid, grid));
            be.SegLoss(loss, stats, up, masks);
            var l = ws.Download(loss);
            (focal[j], dice[j]) = (l[0], l[1]);
            be.SegLossBackward(dup, stats, up, masks, 1, 1);
            be.UpsampleBilinearBackward(dgrid, dup);

            // dS (scaled) → d tau = Σ dS·S, d(T'Kᵀ) = alpha·dS, in both layouts (no transposed-A matmul).
            var dg = ws.Download(dgrid);
            var ds = new float[dg.Length];
            var dst = new float[dg.Length];
            for (var i = 0; i < n; i++)
                for (var ch = 0; ch < 2; ch++)
                    for (var x = 0; x < patches; x++)
                    {
                        var at = (i * 2 + ch) * patches + x;
                        dtau += (double)dg[at] * alpha * raw[at];
                        ds[at] = (float)(alpha * dg[at]);
                        dst[(i * patches + x) * 2 + ch] = ds[at];
                    }
            be.Upload(s, ds); // s is free again until the next layer's forward
            be.Upload(dsT, dst);
            be.BatchedMatMul(dtPrime.Reshape(n, 2, c), s, k3, transposeB: false);
            be.BatchedMatMul(dkeys.Reshape(n, patches, c), dsT, tPrime.Reshape(n, 2, c), transposeB: false);

            // T' = rownorm(MHA(Q,K,K) + T): the residual sends dsum straight to the text.
            be.L2NormalizeBackward(dsum, dtPrime, tPrime, saved.TextNorm);
            be.Add(dtsel, dtsel, dsum);
            be.AttentionBackward(dq.Reshape(n, 2, c), dk.Reshape(n, patches, c), dv.Reshape(n, patches, c), dsum.Reshape(n, 2, c),
                q3, k3, k3, saved.Attended, saved.Lse, cfg.RcaHeads, causal: false, scale: Rca.Scale(cfg));
            be.Add(dqTotal, dqTotal, dq);
            be.Add(dkeys, dkeys, dk);
            be.Add(dkeys, dkeys, dv);
            var dproj = dk; // dk is summed in: reuse it for the projection's gradient (one [N·P,C] less)
            be.L2NormalizeBackward(dproj, dkeys, keys, saved.KeyNorm);
            be.LinearBackwardWeight(p.Grad($"RCA.linear_proj.{j}.weight"), null, dproj, taps[j]);
        }
        ws.AddToScalar(p.Grad(HeadParameters.TauPixelName), dtau);
        be.LinearBackwardWeight(p.Grad("RCA.q_proj_pre.weight"), p.Grad("RCA.q_proj_pre.bias"), dqTotal, tsel);
        be.LinearBackwardInput(dtextQuery, dqTotal, p["RCA.q_proj_pre.weight"]);
        be.Add(dtsel, dtsel, dtextQuery);
        return (focal, dice);
    }
}
