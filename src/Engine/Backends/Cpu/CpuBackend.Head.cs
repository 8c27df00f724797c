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
}
