using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cuda;

public sealed partial class CudaBackend
{
    private const int MapThreads = 256;

    // Flow blocks reduce over D = 768 with block_sum: 128 threads (4 warps) give 6 elements per thread and
    // keep the 3·R blocks of a test image cheap to schedule; must stay a multiple of 32.
    private const int FlowThreads = 128;

    public void SimilarityMap(Tensor map, Tensor s, float scale)
    {
        var n = SimilarityMapReference.CheckShapes("SimilarityMap", map, s);
        Gpu.Launch("similarity_map_forward", Blocks(map.Length, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(map)).Ptr(Dev(s)).Int(n.Layers).Int(n.Pairs).Int(n.InH).Int(n.InW).Int(n.OutH).Int(n.OutW).Float(scale));
    }

    public void PlanarFlow(Tensor zK, Tensor logdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        var n = PlanarFlowReference.CheckShapes("PlanarFlow", zK, logdet, a, z0, u, w, b);
        if (n.Samples == 0) return;
        Gpu.Launch("planar_flow_forward", n.Samples, FlowThreads, 0,
            Args().Ptr(Dev(zK)).Ptr(Dev(logdet)).Ptr(Dev(a)).Ptr(Dev(z0)).Ptr(Dev(u)).Ptr(Dev(w)).Ptr(Dev(b))
                .Int(n.Samples).Int(n.Steps).Int(n.Dim).Int(n.Shared ? 1 : 0));
    }

    public void FlowBaseSample(Tensor z0, Tensor v, Tensor mu, Tensor h, Tensor eps)
    {
        var n = PromptFlowReference.CheckSample("FlowBaseSample", z0, v, mu, h, eps);
        if (z0.Length == 0) return;
        Gpu.Launch("flow_base_sample_forward", Blocks(z0.Length, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(z0)).Ptr(Dev(v)).Ptr(Dev(mu)).Ptr(Dev(h)).Ptr(Dev(eps)).Int(n.Samples).Int(n.Dim).Int(n.Shared ? 1 : 0));
    }

    public void PromptBlocks(Tensor blocks, Tensor ctx, Tensor stateNormal, Tensor stateAbnormal, Tensor zc, Tensor zn, Tensor za)
    {
        var n = PromptFlowReference.CheckBlocks("PromptBlocks", blocks, ctx, stateNormal, stateAbnormal, zc, zn, za);
        if (blocks.Length == 0) return;
        Gpu.Launch("flow_prompt_blocks_forward", Blocks(blocks.Length, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(blocks)).Ptr(Dev(ctx)).Ptr(Dev(stateNormal)).Ptr(Dev(stateAbnormal)).Ptr(Dev(zc)).Ptr(Dev(zn)).Ptr(Dev(za))
                .Int(n.Bank).Int(n.Samples).Int(n.Tokens).Int(n.Width));
    }
}
