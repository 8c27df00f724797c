using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

// Launchers of layernorm.cu and l2norm.cu.
public sealed partial class CudaBackend
{
    public void LayerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        var (rows, c) = BasicOpShapes.LayerNorm("LayerNorm", y, mean, rstd, x, gamma, beta);
        if (rows == 0) return;
        Gpu.Launch("layernorm_forward", rows, RowThreads(c), 0,
            Args().Ptr(Dev(y)).Ptr(Dev(mean)).Ptr(Dev(rstd)).Ptr(Dev(x)).Ptr(Dev(gamma)).Ptr(Dev(beta)).Int(rows).Int(c).Float(eps));
    }

    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (rows, c) = BasicOpShapes.LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        if (rows == 0 || c == 0) return;
        Gpu.Launch("layernorm_backward_dx", rows, RowThreads(c), 0,
            Args().Ptr(Dev(dx)).Ptr(Dev(dy)).Ptr(Dev(x)).Ptr(Dev(mean)).Ptr(Dev(rstd)).Ptr(Dev(gamma)).Int(rows).Int(c));

        // Two-stage dgamma/dbeta: at most 1024 chunks of >= 64 rows, partial sums in a scratch buffer [2, chunks, C].
        var rowsPerChunk = Math.Max(64, (rows + 1023) / 1024);
        var chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        var partial = Gpu.Allocate(2L * chunks * c * sizeof(float));
        try
        {
            Gpu.Launch("layernorm_backward_dgamma_partial", new Dim3(checked((uint)Blocks(c, 32)), checked((uint)chunks)), new Dim3(32, 8), 0,
                Args().Ptr(partial).Ptr(Dev(dy)).Ptr(Dev(x)).Ptr(Dev(mean)).Ptr(Dev(rstd)).Int(rows).Int(c).Int(rowsPerChunk));
            Gpu.Launch("layernorm_backward_dgamma_finish", Blocks(c, 256), 256, 0,
                Args().Ptr(Dev(dgamma)).Ptr(Dev(dbeta)).Ptr(partial).Int(chunks).Int(c));
        }
        finally
        {
            Gpu.Free(partial);
        }
    }

    public void L2Normalize(Tensor y, Tensor norm, Tensor x)
    {
        var (rows, c) = BasicOpShapes.Rows("L2Normalize", x, y);
        Check.Length("L2Normalize", norm, rows);
        RowKernel("l2norm_forward", rows, c, Args().Ptr(Dev(y)).Ptr(Dev(norm)).Ptr(Dev(x)));
    }

    public void L2NormalizeBackward(Tensor dx, Tensor dy, Tensor y, Tensor norm)
    {
        var (rows, c) = BasicOpShapes.Rows("L2NormalizeBackward", y, dx, dy);
        Check.Length("L2NormalizeBackward", norm, rows);
        RowKernel("l2norm_backward", rows, c, Args().Ptr(Dev(dx)).Ptr(Dev(dy)).Ptr(Dev(y)).Ptr(Dev(norm)));
    }
}
