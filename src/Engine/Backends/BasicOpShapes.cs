using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends;

/// <summary>
/// Shape checks of the GEMM, normalisation and pointwise ops, shared by every backend so that the CPU
/// reference and the CUDA launchers accept exactly the same tensors. Each returns the sizes the op runs
/// with; rows are the product of all leading dimensions.
/// </summary>
public static class BasicOpShapes
{
    /// <summary>y[..,N] = x[..,K] · w[N,K]ᵀ + bias[N] → (M, K, N); y and bias F32, w BF16 allows x BF16 (see Check.GemmOperands).</summary>
    public static (int M, int K, int N) Linear(Tensor y, Tensor x, Tensor w, Tensor? bias)
    {
        const string op = "Linear";
        Check.F32(op, y, bias);
        Check.GemmOperands(op, x, w);
        Check.Rank(op, w, 2);
        Check.MinRank(op, x, 1);
        int n = w.Shape[0], k = w.Shape[1];
        Check.That(x.Shape.Cols == k, op, $"{x.Name} has shape {x.Shape} but {w.Name} has shape {w.Shape}: the last dim of {x.Name} must be {k}");
        Check.That(y.Shape.Rank == x.Shape.Rank && y.Shape.Rows == x.Shape.Rows && y.Shape.Cols == n, op,
            $"{y.Name} has shape {y.Shape}, expected the leading dims of {x.Name}{x.Shape} and last dim {n} ({w.Name}{w.Shape})");
        if (bias is not null) Check.Shape(op, bias, n);
        return (x.Shape.Rows, k, n);
    }

    /// <summary>dx[..,K] = dy[..,N] · w[N,K] → (M, K, N).</summary>
    public static (int M, int K, int N) LinearBackwardInput(Tensor dx, Tensor dy, Tensor w)
    {
        const string op = "LinearBackwardInput";
        Check.F32Training(op, dx, dy, w);
        Check.Rank(op, w, 2);
        int n = w.Shape[0], k = w.Shape[1];
        Check.That(dy.Shape.Cols == n, op, $"{dy.Name} has shape {dy.Shape} but {w.Name} has shape {w.Shape}: the last dim of {dy.Name} must be {n}");
        Check.That(dx.Shape.Rank == dy.Shape.Rank && dx.Shape.Rows == dy.Shape.Rows && dx.Shape.Cols == k, op,
            $"{dx.Name} has shape {dx.Shape}, expected the leading dims of {dy.Name}{dy.Shape} and last dim {k} ({w.Name}{w.Shape})");
        return (dy.Shape.Rows, k, n);
    }

    /// <summary>dw[N,K] += dy[..,N]ᵀ · x[..,K]; dbias[N] → (M, K, N).</summary>
    public static (int M, int K, int N) LinearBackwardWeight(Tensor dw, Tensor? dbias, Tensor dy, Tensor x)
    {
        const string op = "LinearBackwardWeight";
        Check.F32Training(op, dw, dbias, dy, x);
        Check.Rank(op, dw, 2);
        int n = dw.Shape[0], k = dw.Shape[1];
        Check.That(dy.Shape.Cols == n && x.Shape.Cols == k && dy.Shape.Rows == x.Shape.Rows, op,
            $"{dy.Name}{dy.Shape} and {x.Name}{x.Shape} must have equal rows and last dims {n} and {k} to match {dw.Name}{dw.Shape}");
        if (dbias is not null) Check.Shape(op, dbias, n);
        return (x.Shape.Rows, k, n);
    }

    /// <summary>c[Bt,M,N] = a[Bt,M,K] · op(bm) → (Bt, M, K, N).</summary>
    public static (int Batch, int M, int K, int N) BatchedMatMul(Tensor c, Tensor a, Tensor bm, bool transposeB)
    {
        const string op = "BatchedMatMul";
        Check.F32Training(op, c, a, bm);
        Check.Rank(op, a, 3);
        int batch = a.Shape[0], m = a.Shape[1], k = a.Shape[2];
        Check.Rank(op, bm, 3);
        var n = transposeB ? bm.Shape[1] : bm.Shape[2];
        if (transposeB) Check.Shape(op, bm, batch, n, k);
        else Check.Shape(op, bm, batch, k, n);
        Check.Shape(op, c, batch, m, n);
        return (batch, m, k, n);
    }

    /// <summary>y, x [..,C]; mean, rstd [rows]; gamma, beta [C] → (rows, C).</summary>
    public static (int Rows, int C) LayerNorm(string op, Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor? beta)
    {
        Check.F32(op, y, mean, rstd, x, gamma, beta);
        Check.SameShape(op, y, x);
        int rows = x.Shape.Rows, c = x.Shape.Cols;
        Check.Length(op, mean, rows);
        Check.Length(op, rstd, rows);
        Check.Shape(op, gamma, c);
        if (beta is not null) Check.Shape(op, beta, c);
        return (rows, c);
    }

    /// <summary>dx, dy, x [..,C]; mean, rstd [rows]; gamma, dgamma, dbeta [C] → (rows, C).</summary>
    public static (int Rows, int C) LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        const string op = "LayerNormBackward";
        var (rows, c) = LayerNorm(op, dx, mean, rstd, x, gamma, dbeta);
        Check.F32(op, dgamma, dy);
        Check.SameShape(op, dy, x);
        Check.Shape(op, dgamma, c);
        return (rows, c);
    }

    /// <summary>Row ops (softmax, L2 normalisation): every tensor shaped like x → (rows, C).</summary>
    public static (int Rows, int C) Rows(string op, Tensor x, params Tensor[] same)
    {
        Check.F32(op, [x, .. same]);
        foreach (var t in same) Check.SameShape(op, t, x);
        return (x.Shape.Rows, x.Shape.Cols);
    }

    /// <summary>Element-wise ops: every tensor shaped like the first → element count.</summary>
    public static int Pointwise(string op, Tensor first, params Tensor[] same)
    {
        Check.F32(op, [first, .. same]);
        foreach (var t in same) Check.SameShape(op, t, first);
        return checked((int)first.Length);
    }
}
