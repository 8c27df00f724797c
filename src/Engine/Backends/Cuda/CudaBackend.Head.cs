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

    public void SimilarityMapBackward(Tensor ds, Tensor dmap, Tensor s, float scale)
    {
        var n = SimilarityMapReference.CheckBackward("SimilarityMapBackward", ds, dmap, s);
        Gpu.Launch("similarity_map_backward", Blocks((long)n.Layers * n.Pairs * n.InH * n.InW, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(ds)).Ptr(Dev(dmap)).Ptr(Dev(s)).Int(n.Layers).Int(n.Pairs).Int(n.InH).Int(n.InW).Int(n.OutH).Int(n.OutW).Float(scale));
    }

    public void PlanarFlow(Tensor zK, Tensor logdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        var n = PlanarFlowReference.CheckShapes("PlanarFlow", zK, logdet, a, z0, u, w, b);
        if (n.Samples == 0) return;
        Gpu.Launch("planar_flow_forward", n.Samples, FlowThreads, 0,
            Args().Ptr(Dev(zK)).Ptr(Dev(logdet)).Ptr(Dev(a)).Ptr(Dev(z0)).Ptr(Dev(u)).Ptr(Dev(w)).Ptr(Dev(b))
                .Int(n.Samples).Int(n.Steps).Int(n.Dim).Int(n.Shared ? 1 : 0));
    }

    public void PlanarFlowBackward(Tensor dz0, Tensor du, Tensor dw, Tensor db, Tensor dzK, Tensor dlogdet, Tensor a,
        Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        var n = PlanarFlowReference.CheckBackward("PlanarFlowBackward", dz0, du, dw, db, dzK, dlogdet, a, z0, u, w, b);
        if (n.Samples == 0) return;
        // z_k lives in dynamic shared memory: D floats (3 KB at D = 768), within the 48 KB every device allows.
        var smem = n.Dim * sizeof(float);
        Check.That(smem <= 48 * 1024, "PlanarFlowBackward", $"{z0.Name} has width {n.Dim}; the kernel keeps z_k in shared memory, at most 12288 floats");
        Gpu.Launch("planar_flow_backward", n.Shared ? 1 : n.Samples, FlowThreads, smem,
            Args().Ptr(Dev(dz0)).Ptr(Dev(du)).Ptr(Dev(dw)).Ptr(Dev(db)).Ptr(Dev(dzK)).Ptr(Dev(dlogdet)).Ptr(Dev(a)).Ptr(Dev(z0))
                .Ptr(Dev(u)).Ptr(Dev(w)).Int(n.Samples).Int(n.Steps).Int(n.Dim).Int(n.Shared ? 1 : 0));
    }

    public void FlowBaseSample(Tensor z0, Tensor v, Tensor mu, Tensor h, Tensor eps)
    {
        var n = PromptFlowReference.CheckSample("FlowBaseSample", z0, v, mu, h, eps);
        if (z0.Length == 0) return;
        Gpu.Launch("flow_base_sample_forward", Blocks(z0.Length, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(z0)).Ptr(Dev(v)).Ptr(Dev(mu)).Ptr(Dev(h)).Ptr(Dev(eps)).Int(n.Samples).Int(n.Dim).Int(n.Shared ? 1 : 0));
    }

    public void FlowBaseSampleBackward(Tensor dmu, Tensor dh, Tensor dz0, Tensor? dv, Tensor v, Tensor eps)
    {
        var n = PromptFlowReference.CheckSampleBackward("FlowBaseSampleBackward", dmu, dh, dz0, dv, v, eps);
        if (dmu.Length == 0) return;
        Gpu.Launch("flow_base_sample_backward", Blocks(dmu.Length, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(dmu)).Ptr(Dev(dh)).Ptr(Dev(dz0)).Ptr(DevOrNull(dv)).Ptr(Dev(v)).Ptr(Dev(eps)).Int(n.Samples).Int(n.Dim).Int(n.Shared ? 1 : 0));
    }

    public void PromptBlocks(Tensor blocks, Tensor ctx, Tensor stateNormal, Tensor stateAbnormal, Tensor zc, Tensor zn, Tensor za)
    {
        var n = PromptFlowReference.CheckBlocks("PromptBlocks", blocks, ctx, stateNormal, stateAbnormal, zc, zn, za);
        if (blocks.Length == 0) return;
        Gpu.Launch("flow_prompt_blocks_forward", Blocks(blocks.Length, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(blocks)).Ptr(Dev(ctx)).Ptr(Dev(stateNormal)).Ptr(Dev(stateAbnormal)).Ptr(Dev(zc)).Ptr(Dev(zn)).Ptr(Dev(za))
                .Int(n.Bank).Int(n.Samples).Int(n.Tokens).Int(n.Width));
    }

    public void PromptBlocksBackward(Tensor dctx, Tensor dstateNormal, Tensor dstateAbnormal, Tensor dzc, Tensor dzn, Tensor dza, Tensor dblocks)
    {
        var n = PromptFlowReference.CheckBlocksBackward("PromptBlocksBackward", dctx, dstateNormal, dstateAbnormal, dzc, dzn, dza, dblocks);
        var threads = dctx.Length + dzc.Length;
        if (threads == 0) return;
        Gpu.Launch("flow_prompt_blocks_backward", Blocks(threads, MapThreads), MapThreads, 0,
            Args().Ptr(Dev(dctx)).Ptr(Dev(dstateNormal)).Ptr(Dev(dstateAbnormal)).Ptr(Dev(dzc)).Ptr(Dev(dzn)).Ptr(Dev(dza)).Ptr(Dev(dblocks))
                .Int(n.Bank).Int(n.Samples).Int(n.Tokens).Int(n.Width));
    }
}
