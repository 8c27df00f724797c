using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    public void SimilarityMap(Tensor map, Tensor s, float scale)
    {
        var n = SimilarityMapReference.CheckShapes("SimilarityMap", map, s);
        SimilarityMapReference.Forward(Cpu(map).Span, Cpu(s).Span, n, scale);
    }

    public void PlanarFlow(Tensor zK, Tensor logdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        var n = PlanarFlowReference.CheckShapes("PlanarFlow", zK, logdet, a, z0, u, w, b);
        PlanarFlowReference.Forward(Cpu(zK).Span, Cpu(logdet).Span, Cpu(a).Span, Cpu(z0).Span, Cpu(u).Span, Cpu(w).Span, Cpu(b).Span, n);
    }

    public void FlowBaseSample(Tensor z0, Tensor v, Tensor mu, Tensor h, Tensor eps)
    {
        var n = PromptFlowReference.CheckSample("FlowBaseSample", z0, v, mu, h, eps);
        PromptFlowReference.Sample(Cpu(z0).Span, Cpu(v).Span, Cpu(mu).Span, Cpu(h).Span, Cpu(eps).Span, n);
    }

    public void PromptBlocks(Tensor blocks, Tensor ctx, Tensor stateNormal, Tensor stateAbnormal, Tensor zc, Tensor zn, Tensor za)
    {
        var n = PromptFlowReference.CheckBlocks("PromptBlocks", blocks, ctx, stateNormal, stateAbnormal, zc, zn, za);
        PromptFlowReference.Blocks(Cpu(blocks).Span, Cpu(ctx).Span, Cpu(stateNormal).Span, Cpu(stateAbnormal).Span,
            Cpu(zc).Span, Cpu(zn).Span, Cpu(za).Span, n);
    }
}
