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
}
