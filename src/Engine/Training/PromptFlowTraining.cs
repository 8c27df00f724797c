using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Training.Flows;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The prompt-flow module in training mode (spec 4.4, 5.1-5.6, 6, 9.2): forward with saved activations, the
/// KL regulariser L_dist, and the backward into every flow and prompt parameter of <see cref="HeadParameters"/>.
/// The forward runs the inference classes (<see cref="ContextDistribution"/>, <see cref="StateDistribution"/>)
/// on a view of the trained buffers, asking them to keep their activations.
/// </summary>
public sealed class PromptFlowTraining : IDisposable
{
    private readonly IBackend backend;
    private readonly HeadParameters p;
    private readonly ContextDistribution context;
    private readonly StateDistribution normal, abnormal;
    private Saved? saved;

    public PromptFlowTraining(IBackend backend, HeadParameters p)
    {
        this.backend = backend;
        this.p = p;
        var weights = p.AsWeights(stage2: false);
        context = new ContextDistribution(backend, weights);
        normal = new StateDistribution(backend, weights, "PFL_normal");
        abnormal = new StateDistribution(backend, weights, "PFL_abnormal");
    }

    /// <summary>
    /// Training sampling (spec 5.5): one context sample per image from the image-specific distribution of g[i],
    /// one normal and one abnormal sample for the whole batch. g [N,C] (frozen), eps [N+2,C] (rows 0..N-1 the
    /// context noise of image i, row N normal, row N+1 abnormal) → blocks [2·B·N, 2·Tokens, C] in PromptBlocks
    /// order, the state samples broadcast to the N rows. Returns L_dist = 0.01·(KL_ctx + KL_nrm + KL_abn).
    /// </summary>
    public double Forward(Tensor blocks, Tensor g, Tensor eps)
    {
        var cfg = p.Config;
        int n = g.Shape.Rows, c = cfg.Embed;
        if (!g.Shape.Equals(new Shape(n, c))) throw new ArgumentException($"PromptFlowTraining.Forward: g {g.Shape}, expected [N,{c}]");
        if (!eps.Shape.Equals(new Shape(n + 2, c))) throw new ArgumentException($"PromptFlowTraining.Forward: eps {eps.Shape}, expected [{n + 2},{c}] for g {g.Shape}");
        var blockShape = new Shape(2 * cfg.Bank * n, 2 * cfg.Tokens, c);
        if (!blocks.Shape.Equals(blockShape)) throw new ArgumentException($"PromptFlowTraining.Forward: blocks {blocks.Shape}, expected {blockShape}");
        if (saved?.N != n)
        {
            saved?.Dispose();
            saved = new Saved(backend, p, context, normal, abnormal, n);
        }
        var s = saved;
        backend.Copy(s.G, g);
        backend.Copy(s.Context.Eps, eps.View(0, new Shape(n, c)));
        context.Sample(s.Context.Samples, s.G, s.Context.Eps, s.Context.Activations, s.Flow);
        foreach (var (dist, branch, row) in new[] { (normal, s.Normal, n), (abnormal, s.Abnormal, n + 1) })
        {
            for (var i = 0; i < n; i++) backend.Copy(branch.Eps.View(i * c, new Shape(1, c)), eps.View(row * c, new Shape(1, c)));
            dist.Sample(branch.Samples, branch.Eps, branch.Activations);
        }
        backend.PromptBlocks(blocks, p["prompt_context"], p["prompt_state_normal"], p["prompt_state_abnormal"],
            s.Context.Samples.ZK, s.Normal.Samples.ZK, s.Abnormal.Samples.ZK);
        s.Ready = true;
        return KlLoss.Weight * (s.Context.Kl() + s.Normal.Kl() + s.Abnormal.Kl());
    }

    /// <summary>
    /// From dblocks [2·B·N, 2·Tokens, C] plus distUpstream·∂L_dist: ACCUMULATES into the gradients of the prompts,
    /// both encoders, the amortisation layers and the state flows' own tensors.
    /// </summary>
    public void Backward(Tensor dblocks, double distUpstream = 1)
    {
        if (saved is not { Ready: true } s) throw new InvalidOperationException("PromptFlowTraining.Backward: call Forward first");
        backend.PromptBlocksBackward(p.Grad("prompt_context"), p.Grad("prompt_state_normal"), p.Grad("prompt_state_abnormal"),
            s.DzContext, s.DzNormal, s.DzAbnormal, dblocks);
        var klUpstream = KlLoss.Weight * distUpstream;

        var flow = s.Flow;
        foreach (var t in new[] { s.DFlow.U, s.DFlow.W, s.DFlow.B }) backend.Zero(t);
        s.Context.Backward(s.DzContext, klUpstream, s.G, null, (flow.U, flow.W, flow.B), (s.DFlow.U, s.DFlow.W, s.DFlow.B));
        int n = s.N, kc = p.Config.Steps * p.Config.Embed;
        foreach (var (name, d) in new[] { ("amor_u", s.DFlow.U.Reshape(n, kc)), ("amor_w", s.DFlow.W.Reshape(n, kc)), ("amor_b", s.DFlow.B) })
            backend.LinearBackwardWeight(p.Grad($"PFL_context.{name}.weight"), p.Grad($"PFL_context.{name}.bias"), d, s.G);

        foreach (var (prefix, branch, dz) in new[] { ("PFL_normal", s.Normal, s.DzNormal), ("PFL_abnormal", s.Abnormal, s.DzAbnormal) })
            branch.Backward(dz, klUpstream, p[$"{prefix}.state"], p.Grad($"{prefix}.state"),
                (p[$"{prefix}.amor_u"], p[$"{prefix}.amor_w"], p[$"{prefix}.amor_b"]),
                (p.Grad($"{prefix}.amor_u"), p.Grad($"{prefix}.amor_w"), p.Grad($"{prefix}.amor_b")));
    }

    public void Dispose() => saved?.Dispose();

    /// <summary>Everything sized by the batch N: the three branches, g, the amortised flow and the scratch gradients.</summary>
    private sealed class Saved : IDisposable
    {
        public Saved(IBackend be, HeadParameters p, ContextDistribution context, StateDistribution normal, StateDistribution abnormal, int n)
        {
            int c = p.Config.Embed, k = p.Config.Steps;
            N = n;
            Context = new FlowBranch(be, p, context.Encoder, "train.context", n, n, KlLoss.ContextScales(n));
            Normal = new FlowBranch(be, p, normal.Encoder, "train.normal", n, 1, KlLoss.StateScales(n));
            Abnormal = new FlowBranch(be, p, abnormal.Encoder, "train.abnormal", n, 1, KlLoss.StateScales(n));
            G = be.Allocate(new Shape(n, c), "train.g");
            Flow = AmortisedFlow.Allocate(be, n, k, c);
            DFlow = AmortisedFlow.Allocate(be, n, k, c);
            DzContext = be.Allocate(new Shape(n, c), "train.context.dzK");
            DzNormal = be.Allocate(new Shape(n, c), "train.normal.dzK");
            DzAbnormal = be.Allocate(new Shape(n, c), "train.abnormal.dzK");
        }

        public int N { get; }

        public bool Ready { get; set; }

        public FlowBranch Context { get; }

        public FlowBranch Normal { get; }

        public FlowBranch Abnormal { get; }

        public Tensor G { get; }

        public AmortisedFlow Flow { get; }

        public AmortisedFlow DFlow { get; }

        public Tensor DzContext { get; }

        public Tensor DzNormal { get; }

        public Tensor DzAbnormal { get; }

        public void Dispose()
        {
            foreach (var d in new IDisposable[] { Context, Normal, Abnormal, G, Flow, DFlow, DzContext, DzNormal, DzAbnormal }) d.Dispose();
        }
    }
}
