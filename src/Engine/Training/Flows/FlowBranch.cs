using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Training.Flows;

/// <summary>
/// One distribution of the training prompt flows (spec 5.3-5.6) for a batch of N images: the saved forward
/// (N samples from P base distributions, P = N for the context, P = 1 for a state), its KL term on the host in
/// double (<see cref="KlLoss"/>) and the backward through flow, base sample and encoder.
/// The KL covers the first P samples: the context's N samples, or the state's single sample (the other N − 1
/// rows of a state are the same sample recomputed, so that PromptBlocks gets N rows and the backward's sums over
/// rows are the broadcast's gradient).
/// </summary>
internal sealed class FlowBranch : IDisposable
{
    private readonly IBackend backend;
    private readonly (double A, double B) scales;
    private readonly int c;
    private readonly Mlp3Backward mean, logVariance;
    private readonly Tensor dz0, dmu, dh, klMu, klV, klZ0, klZK, klLogDet;
    private readonly float[] mu, v, z0, zK, logdet;

    public FlowBranch(IBackend backend, HeadParameters p, FlowEncoder encoder, string name, int n, int distributions, (double A, double B) scales)
    {
        this.backend = backend;
        this.scales = scales;
        c = p.Config.Embed;
        Samples = FlowSamples.Allocate(backend, name, n, c, p.Config.Steps, distributions);
        Activations = EncoderActivations.Allocate(backend, name, distributions, p.Config.Hidden);
        Eps = backend.Allocate(new Shape(n, c), $"{name}.eps");
        mean = new Mlp3Backward(backend, p, encoder.Mean, distributions);
        logVariance = new Mlp3Backward(backend, p, encoder.LogVariance, distributions);
        Shape rows = new(n, c), dists = new(distributions, c);
        dz0 = backend.Allocate(rows, $"{name}.dz0");
        dmu = backend.Allocate(dists, $"{name}.dmu");
        dh = backend.Allocate(dists, $"{name}.dh");
        klMu = backend.Allocate(dists, $"{name}.kl.dmu");
        klV = backend.Allocate(dists, $"{name}.kl.dv");
        klZ0 = backend.Allocate(rows, $"{name}.kl.dz0");
        klZK = backend.Allocate(rows, $"{name}.kl.dzK");
        klLogDet = backend.Allocate(new Shape(n), $"{name}.kl.dlogdet");
        (mu, v, z0, zK, logdet) = (new float[distributions * c], new float[distributions * c], new float[n * c], new float[n * c], new float[n]);
    }

    public FlowSamples Samples { get; }

    public EncoderActivations Activations { get; }

    /// <summary>The noise of each sample [N,C], as the forward used it.</summary>
    public Tensor Eps { get; }

    private int Distributions => mu.Length / c;

    /// <summary>Downloads the saved samples (small) and returns this distribution's KL term (spec 5.6).</summary>
    public double Kl()
    {
        backend.Download(Samples.Mu, mu);
        backend.Download(Samples.V, v);
        backend.Download(Samples.Z0, z0);
        backend.Download(Samples.ZK, zK);
        backend.Download(Samples.LogDet, logdet);
        var p = Distributions;
        return KlLoss.Term<float>(mu, v, z0.AsSpan(0, p * c), zK.AsSpan(0, p * c), logdet.AsSpan(0, p), scales.A, scales.B);
    }

    /// <summary>
    /// From dzK [N,C] (the prompt blocks' gradient; used as scratch) plus klUpstream·∂KL: the flow's u, w, b
    /// gradients ACCUMULATE into du, dw, db; the encoder's into the parameter gradients, its input gradient is
    /// added to <paramref name="addInputGrad"/> when given. x is the encoder input of the forward.
    /// </summary>
    public void Backward(Tensor dzK, double klUpstream, Tensor x, Tensor? addInputGrad, (Tensor U, Tensor W, Tensor B) flow, (Tensor U, Tensor W, Tensor B) dflow)
    {
        UploadKlGradients(klUpstream);
        backend.Add(dzK, dzK, klZK);
        backend.PlanarFlowBackward(dz0, dflow.U, dflow.W, dflow.B, dzK, klLogDet, Samples.A, Samples.Z0, flow.U, flow.W, flow.B);
        backend.Add(dz0, dz0, klZ0);
        backend.FlowBaseSampleBackward(dmu, dh, dz0, klV, Samples.V, Eps);
        backend.Add(dmu, dmu, klMu);
        mean.Run(dmu, x, Activations.Mean, addInputGrad);
        logVariance.Run(dh, x, Activations.LogVariance, addInputGrad);
    }

    /// <summary>The KL's partial derivatives, zero on the rows the KL does not read.</summary>
    private void UploadKlGradients(double upstream)
    {
        var p = Distributions;
        float[] gMu = new float[mu.Length], gV = new float[v.Length], gZ0 = new float[z0.Length], gZK = new float[zK.Length], gLd = new float[logdet.Length];
        KlLoss.Backward<float>(gMu, gV, gZ0.AsSpan(0, p * c), gZK.AsSpan(0, p * c), gLd.AsSpan(0, p),
            mu, v, z0.AsSpan(0, p * c), zK.AsSpan(0, p * c), logdet.AsSpan(0, p), scales.A, scales.B, upstream);
        backend.Upload(klMu, gMu);
        backend.Upload(klV, gV);
        backend.Upload(klZ0, gZ0);
        backend.Upload(klZK, gZK);
        backend.Upload(klLogDet, gLd);
    }

    public void Dispose()
    {
        mean.Dispose();
        logVariance.Dispose();
        Samples.Dispose();
        Activations.Dispose();
        foreach (var t in new[] { Eps, dz0, dmu, dh, klMu, klV, klZ0, klZK, klLogDet }) t.Dispose();
    }
}
