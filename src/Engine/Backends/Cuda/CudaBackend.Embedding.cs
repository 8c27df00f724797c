using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cuda;

public sealed partial class CudaBackend
{
    private const int EmbeddingThreads = 128;

    public void Embedding(Tensor y, Tensor ids, Tensor table, Tensor? pos, Tensor? inject)
    {
        var (n, t, c, v, j) = EmbeddingShapes.Check(y, ids, table, pos, inject);
        var rows = n * t;
        if (rows == 0 || c == 0) return;
        var a = Args().Ptr(Dev(y)).Ptr(Dev(ids)).Ptr(Dev(table)).Ptr(DevOrNull(pos)).Ptr(DevOrNull(inject))
            .Int(rows).Int(t).Int(c).Int(v).Int(j);
        Gpu.Launch("embedding_forward", rows, EmbeddingThreads, 0, a);
    }

    public void EmbeddingBackward(Tensor dinject, Tensor dy, Tensor ids)
    {
        var (n, t, c, j) = EmbeddingShapes.CheckBackward(dinject, dy, ids);
        if (n * j == 0 || c == 0) return;
        Gpu.Launch("embedding_backward", n * j, EmbeddingThreads, 0, Args().Ptr(Dev(dinject)).Ptr(Dev(dy)).Ptr(Dev(ids)).Int(n).Int(t).Int(c).Int(j));
    }
}
