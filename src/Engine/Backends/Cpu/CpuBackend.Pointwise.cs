using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

// Element-wise and softmax ops: the generic references of PointwiseReference/RowReference, run in float,
// split across cores for large tensors (exact GELU over a ViT-L MLP activation is 5.6M erf calls per layer).
public sealed partial class CpuBackend
{
    public void Gelu(Tensor y, Tensor x, GeluKind kind)
    {
        var n = BasicOpShapes.Pointwise("Gelu", y, x);
        Chunked(n, (s, len) => PointwiseReference.Gelu(Cpu(y).Span.Slice(s, len), Cpu(x).Span.Slice(s, len), kind));
    }

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x, GeluKind kind)
    {
        var n = BasicOpShapes.Pointwise("GeluBackward", dx, dy, x);
        Chunked(n, (s, len) => PointwiseReference.GeluBackward(Cpu(dx).Span.Slice(s, len), Cpu(dy).Span.Slice(s, len), Cpu(x).Span.Slice(s, len), kind));
    }

    public void Add(Tensor y, Tensor a, Tensor b)
    {
        var n = BasicOpShapes.Pointwise("Add", y, a, b);
        Chunked(n, (s, len) => PointwiseReference.Add(Cpu(y).Span.Slice(s, len), Cpu(a).Span.Slice(s, len), Cpu(b).Span.Slice(s, len)));
    }

    public void Softmax(Tensor y, Tensor x)
    {
        var (rows, c) = BasicOpShapes.Rows("Softmax", x, y);
        ChunkedRows(rows, c, (r, nr) => RowReference.Softmax(Cpu(y).Span.Slice(r * c, nr * c), Cpu(x).Span.Slice(r * c, nr * c), nr, c));
    }

    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y)
    {
        var (rows, c) = BasicOpShapes.Rows("SoftmaxBackward", y, dx, dy);
        ChunkedRows(rows, c, (r, nr) =>
            RowReference.SoftmaxBackward(Cpu(dx).Span.Slice(r * c, nr * c), Cpu(dy).Span.Slice(r * c, nr * c), Cpu(y).Span.Slice(r * c, nr * c), nr, c));
    }

    public void Softplus(Tensor y, Tensor x)
    {
        var n = BasicOpShapes.Pointwise("Softplus", y, x);
        Chunked(n, (s, len) => PointwiseReference.Softplus(Cpu(y).Span.Slice(s, len), Cpu(x).Span.Slice(s, len)));
    }

    public void SoftplusBackward(Tensor dx, Tensor dy, Tensor x)
    {
        var n = BasicOpShapes.Pointwise("SoftplusBackward", dx, dy, x);
        Chunked(n, (s, len) => PointwiseReference.SoftplusBackward(Cpu(dx).Span.Slice(s, len), Cpu(dy).Span.Slice(s, len), Cpu(x).Span.Slice(s, len)));
    }

    public void Tanh(Tensor y, Tensor x)
    {
        var n = BasicOpShapes.Pointwise("Tanh", y, x);
        Chunked(n, (s, len) => PointwiseReference.Tanh(Cpu(y).Span.Slice(s, len), Cpu(x).Span.Slice(s, len)));
    }

    public void TanhBackward(Tensor dx, Tensor dy, Tensor y)
    {
        var n = BasicOpShapes.Pointwise("TanhBackward", dx, dy, y);
        Chunked(n, (s, len) => PointwiseReference.TanhBackward(Cpu(dx).Span.Slice(s, len), Cpu(dy).Span.Slice(s, len), Cpu(y).Span.Slice(s, len)));
    }

    /// <summary>Runs body(start, length) over [0, count) in parallel chunks; below ~64K elements threads cost more than they save.</summary>
    private static void Chunked(int count, Action<int, int> body)
    {
        const int Grain = 1 << 16;
        var chunks = Math.Clamp(count / Grain, 1, 4 * Environment.ProcessorCount);
        if (chunks == 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, chunks, i =>
        {
            int s = (int)((long)count * i / chunks), e = (int)((long)count * (i + 1) / chunks);
            body(s, e - s);
        });
    }

    /// <summary>Chunked over whole rows, so that row reductions stay on one thread (same result for any split).</summary>
    private static void ChunkedRows(int rows, int c, Action<int, int> body)
    {
        if (rows == 0) return;
        var perRow = Math.Max(1, c);
        Chunked(rows * perRow, (s, len) =>
        {
            int r0 = (s + perRow - 1) / perRow, r1 = (s + len + perRow - 1) / perRow;
            if (r1 > r0) body(r0, r1 - r0);
        });
    }
}
