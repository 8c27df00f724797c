using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

// LayerNorm and L2 row normalisation: LayerNormReference/RowReference in float. The LayerNorm backward stays
// on one thread: dgamma/dbeta sum over all rows, and a fixed order keeps it deterministic.
public sealed partial class CpuBackend
{
    public void LayerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        var (rows, c) = BasicOpShapes.LayerNorm("LayerNorm", y, mean, rstd, x, gamma, beta);
        ChunkedRows(rows, c, (r, nr) => LayerNormReference.Forward(Cpu(y).Span.Slice(r * c, nr * c), Cpu(mean).Span.Slice(r, nr),
            Cpu(rstd).Span.Slice(r, nr), Cpu(x).Span.Slice(r * c, nr * c), Cpu(gamma).Span, Cpu(beta).Span, nr, c, eps));
    }

    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (rows, c) = BasicOpShapes.LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        LayerNormReference.Backward(Cpu(dx).Span, Cpu(dgamma).Span, Cpu(dbeta).Span, Cpu(dy).Span, Cpu(x).Span, Cpu(mean).Span,
            Cpu(rstd).Span, Cpu(gamma).Span, rows, c);
    }

    public void L2Normalize(Tensor y, Tensor norm, Tensor x)
    {
        var (rows, c) = BasicOpShapes.Rows("L2Normalize", x, y);
        Check.Length("L2Normalize", norm, rows);
        ChunkedRows(rows, c, (r, nr) => RowReference.L2Normalize(Cpu(y).Span.Slice(r * c, nr * c), Cpu(norm).Span.Slice(r, nr),
            Cpu(x).Span.Slice(r * c, nr * c), nr, c));
    }

    public void L2NormalizeBackward(Tensor dx, Tensor dy, Tensor y, Tensor norm)
    {
        var (rows, c) = BasicOpShapes.Rows("L2NormalizeBackward", y, dx, dy);
        Check.Length("L2NormalizeBackward", norm, rows);
        ChunkedRows(rows, c, (r, nr) => RowReference.L2NormalizeBackward(Cpu(dx).Span.Slice(r * c, nr * c), Cpu(dy).Span.Slice(r * c, nr * c),
            Cpu(y).Span.Slice(r * c, nr * c), Cpu(norm).Span.Slice(r, nr), nr, c));
    }
}
