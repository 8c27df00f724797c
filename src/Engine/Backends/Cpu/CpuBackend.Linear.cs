using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

// GEMMs run on the fast blocked path (Sgemm); GemmReference holds the plain loops it is tested against.
public sealed partial class CpuBackend
{
    /// <summary>x rounded to bf16 for a Linear with BF16 weights; grows to the largest x seen, reused across calls (one op at a time).</summary>
    private float[] bf16Input = [];

    public void Linear(Tensor y, Tensor x, Tensor w, Tensor? bias)
    {
        var (m, k, n) = BasicOpShapes.Linear(y, x, w, bias);
        CpuTensor ty = Cpu(y), tw = Cpu(w);
        var (xs, xo) = LinearInput(Cpu(x), w.DType);
        var yv = ty.Span;
        if (bias is not null)
        {
            var b = Cpu(bias).Span;
            for (var i = 0; i < m; i++) b.CopyTo(yv.Slice(i * n, n));
        }
        // BF16 operands are bf16-exact floats, so the fp32 Sgemm computes bf16(x)·wᵀ with fp32 accumulation, as cuBLAS does.
        Sgemm.Run(false, true, m, n, k, xs, xo, k, tw.Storage, tw.Offset, k, ty.Storage, ty.Offset, n, accumulate: bias is not null);
    }

    /// <summary>The storage and offset the GEMM reads x from: x itself, or its bf16 rounding when w is BF16 and x is not.</summary>
    private (float[] Storage, int Offset) LinearInput(CpuTensor x, DType wType)
    {
        if (wType != DType.BF16 || x.DType == DType.BF16) return (x.Storage, x.Offset);
        if (bf16Input.Length < x.Length) bf16Input = new float[x.Length];
        CastReference.RoundToBf16(bf16Input.AsSpan(0, (int)x.Length), x.Span);
        return (bf16Input, 0);
    }

    public void LinearBackwardInput(Tensor dx, Tensor dy, Tensor w)
    {
        var (m, k, n) = BasicOpShapes.LinearBackwardInput(dx, dy, w);
        CpuTensor tdx = Cpu(dx), tdy = Cpu(dy), tw = Cpu(w);
        Sgemm.Run(false, false, m, k, n, tdy.Storage, tdy.Offset, n, tw.Storage, tw.Offset, k, tdx.Storage, tdx.Offset, k, accumulate: false);
    }

    public void LinearBackwardWeight(Tensor dw, Tensor? dbias, Tensor dy, Tensor x)
    {
        var (m, k, n) = BasicOpShapes.LinearBackwardWeight(dw, dbias, dy, x);
        CpuTensor tdw = Cpu(dw), tdy = Cpu(dy), tx = Cpu(x);
        Sgemm.Run(true, false, n, k, m, tdy.Storage, tdy.Offset, n, tx.Storage, tx.Offset, k, tdw.Storage, tdw.Offset, k, accumulate: true);
        if (dbias is null) return;
        var db = Cpu(dbias).Span;
        var g = tdy.Span;
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++) db[j] += g[i * n + j];
    }

    public void BatchedMatMul(Tensor c, Tensor a, Tensor bm, bool transposeB)
    {
        var (batch, m, k, n) = BasicOpShapes.BatchedMatMul(c, a, bm, transposeB);
        CpuTensor tc = Cpu(c), ta = Cpu(a), tb = Cpu(bm);
        for (var b = 0; b < batch; b++)
            Sgemm.Run(false, transposeB, m, n, k, ta.Storage, ta.Offset + b * m * k, k, tb.Storage, tb.Offset + b * k * n,
                transposeB ? k : n, tc.Storage, tc.Offset + b * m * n, n, accumulate: false);
    }
}
