using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    public void SimilarityMap(Tensor map, Tensor s, float scale)
    {
        var n = SimilarityMapReference.CheckShapes("SimilarityMap", map, s);
        SimilarityMapReference.Forward(Cpu(map).Span, Cpu(s).Span, n, scale);
    }

    public void SimilarityMapBackward(Tensor ds, Tensor dmap, Tensor s, float scale)
    {
        var n = SimilarityMapReference.CheckBackward("SimilarityMapBackward", ds, dmap, s);
        SimilarityMapReference.Backward(Cpu(ds).Span, Cpu(dmap).Span, Cpu(s).Span, n, scale);
    }

    public void PlanarFlow(Tensor zK, Tensor logdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        var n = PlanarFlowReference.CheckShapes("PlanarFlow", zK, logdet, a, z0, u, w, b);
        PlanarFlowReference.Forward(Cpu(zK).Span, Cpu(logdet).Span, Cpu(a).Span, Cpu(z0).Span, Cpu(u).Span, Cpu(w).Span, Cpu(b).Span, n);
    }

    public void PlanarFlowBackward(Tensor dz0, Tensor du, Tensor dw, Tensor db, Tensor dzK, Tensor dlogdet, Tensor a,
        Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        var n = PlanarFlowReference.CheckBackward("PlanarFlowBackward", dz0, du, dw, db, dzK, dlogdet, a, z0, u, w, b);
        PlanarFlowReference.Backward(Cpu(dz0).Span, Cpu(du).Span, Cpu(dw).Span, Cpu(db).Span, Cpu(dzK).Span, Cpu(dlogdet).Span,
            Cpu(a).Span, Cpu(z0).Span, Cpu(u).Span, Cpu(w).Span, n);
    }

    public void FlowBaseSample(Tensor z0, Tensor v, Tensor mu, Tensor h, Tensor eps)
    {
        var n = PromptFlowReference.CheckSample("FlowBaseSample", z0, v, mu, h, eps);
        PromptFlowReference.Sample(Cpu(z0).Span, Cpu(v).Span, Cpu(mu).Span, Cpu(h).Span, Cpu(eps).Span, n);
    }

    public void FlowBaseSampleBackward(Tensor dmu, Tensor dh, Tensor dz0, Tensor? dv, Tensor v, Tensor eps)
    {
        var n = PromptFlowReference.CheckSampleBackward("FlowBaseSampleBackward", dmu, dh, dz0, dv, v, eps);
        PromptFlowReference.SampleBackward(Cpu(dmu).Span, Cpu(dh).Span, Cpu(dz0).Span, dv is null ? default : Cpu(dv).Span,
            Cpu(v).Span, Cpu(eps).Span, n);
    }

    public void PromptBlocks(Tensor blocks, Tensor ctx, Tensor stateNormal, Tensor stateAbnormal, Tensor zc, Tensor zn, Tensor za)
    {
        var n = PromptFlowReference.CheckBlocks("PromptBlocks", blocks, ctx, stateNormal, stateAbnormal, zc, zn, za);
        PromptFlowReference.Blocks(Cpu(blocks).Span, Cpu(ctx).Span, Cpu(stateNormal).Span, Cpu(stateAbnormal).Span,
            Cpu(zc).Span, Cpu(zn).Span, Cpu(za).Span, n);
    }

    public void PromptBlocksBackward(Tensor dctx, Tensor dstateNormal, Tensor dstateAbnormal, Tensor dzc, Tensor dzn, Tensor dza, Tensor dblocks)
    {
        var n = PromptFlowReference.CheckBlocksBackward("PromptBlocksBackward", dctx, dstateNormal, dstateAbnormal, dzc, dzn, dza, dblocks);
        PromptFlowReference.BlocksBackward(Cpu(dctx).Span, Cpu(dstateNormal).Span, Cpu(dstateAbnormal).Span, Cpu(dzc).Span,
            Cpu(dzn).Span, Cpu(dza).Span, Cpu(dblocks).Span, n);
    }
}
