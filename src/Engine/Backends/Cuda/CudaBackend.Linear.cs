using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

// GEMMs through cuBLAS (column-major). A row-major matrix R[r,c] is, byte for byte, the column-major matrix
// Rᵀ[c,r] with leading dimension c, so every row-major product C = A·B is issued as Cᵀ = Bᵀ·Aᵀ: the operands
// swap places and each keeps its own leading dimension. Sizes are (M, K, N) as in BasicOpShapes.
public sealed partial class CudaBackend
{
    public void Linear(Tensor y, Tensor x, Tensor w, Tensor? bias)
    {
        var (m, k, n) = BasicOpShapes.Linear(y, x, w, bias);
        if (m == 0 || n == 0) return;
        // BF16 weights: x goes in as bf16 (cast first unless it already is), the GEMM accumulates in fp32.
        var bf16 = w.DType == DType.BF16;
        var xOperand = bf16 ? Bf16Operand(x) : x;
        if (bias is not null)
            Gpu.Launch("linear_forward_fill_bias", GridStride((long)m * n), 256, 0, Args().Ptr(Dev(y)).Ptr(Dev(bias)).Int(m).Int(n));
        // yᵀ[N,M] = w (col-major wᵀ[K,N], transposed) · xᵀ (col-major [K,M]); beta = 1 adds onto the bias.
        Gemm(GemmOp.T, GemmOp.N, n, m, k, Dev(w), k, Dev(xOperand), k, bias is null ? 0f : 1f, Dev(y), n, bf16);
    }

    public void LinearBackwardInput(Tensor dx, Tensor dy, Tensor w)
    {
        var (m, k, n) = BasicOpShapes.LinearBackwardInput(dx, dy, w);
        if (m == 0 || k == 0) return;
        // dxᵀ[K,M] = wᵀ (col-major [K,N]) · dyᵀ (col-major [N,M]).
        Gemm(GemmOp.N, GemmOp.N, k, m, n, Dev(w), k, Dev(dy), n, 0f, Dev(dx), k);
    }

    public void LinearBackwardWeight(Tensor dw, Tensor? dbias, Tensor dy, Tensor x)
    {
        var (m, k, n) = BasicOpShapes.LinearBackwardWeight(dw, dbias, dy, x);
        if (n == 0) return;
        // dwᵀ[K,N] += xᵀ (col-major [K,M]) · dy (col-major dyᵀ[N,M], transposed).
        if (k > 0) Gemm(GemmOp.N, GemmOp.T, k, n, m, Dev(x), k, Dev(dy), n, 1f, Dev(dw), k);
        if (dbias is not null)
            Gpu.Launch("linear_backward_bias", Blocks(n, 32), new Dim3(32, 8), 0, Args().Ptr(Dev(dbias)).Ptr(Dev(dy)).Int(m).Int(n));
    }

    public void BatchedMatMul(Tensor c, Tensor a, Tensor bm, bool transposeB)
    {
        var (batch, m, k, n) = BasicOpShapes.BatchedMatMul(c, a, bm, transposeB);
        if (batch == 0 || m == 0 || n == 0) return;
        // cᵀ[N,M] = op(bm)ᵀ · aᵀ: bm as stored is col-major [N,K] (bmᵀ) or, when transposeB, [K,N] (to transpose).
        Gpu.SgemmStridedBatched(transposeB ? GemmOp.T : GemmOp.N, GemmOp.N, n, m, k, 1f,
            Dev(bm), Math.Max(1, transposeB ? k : n), (long)k * n, Dev(a), Math.Max(1, k), (long)m * k, 0f,
            Dev(c), Math.Max(1, n), (long)m * n, batch);
    }

    /// <summary>
    /// One column-major GEMM C[rows,cols] = alpha·op(A)·op(B) + beta·C with alpha = 1; leading dims clamped to >= 1 as
    /// cuBLAS requires. bf16: A and B hold bfloat16 (C stays fp32).
    /// </summary>
    private void Gemm(GemmOp ta, GemmOp tb, int rows, int cols, int inner, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc,
        bool bf16 = false)
    {
        if (bf16) Gpu.GemmBf16StridedBatched(ta, tb, rows, cols, inner, 1f, a, Math.Max(1, lda), 0, b, Math.Max(1, ldb), 0, beta, c, Math.Max(1, ldc), 0, 1);
        else Gpu.SgemmStridedBatched(ta, tb, rows, cols, inner, 1f, a, Math.Max(1, lda), 0, b, Math.Max(1, ldb), 0, beta, c, Math.Max(1, ldc), 0, 1);
    }
}
