using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>Reference for embedding_forward (src/Kernels/embedding.cu): a plain row copy plus the positional row.</summary>
    public void Embedding(Tensor y, Tensor ids, Tensor table, Tensor? pos, Tensor? inject)
    {
        var (n, t, c, v, j) = EmbeddingShapes.Check(y, ids, table, pos, inject);
        var ys = Cpu(y).Span;
        var idv = Cpu(ids).Span;
        var tab = Cpu(table).Span;
        var ps = pos is null ? default : Cpu(pos).Span;
        var inj = inject is null ? default : Cpu(inject).Span;
        for (var i = 0; i < n; i++)
        {
            for (var s = 0; s < t; s++)
            {
                var m = i * t + s;
                var id = idv[m];
                ReadOnlySpan<float> src;
                if (id >= 0 && id < v && id == MathF.Floor(id)) src = tab.Slice((int)id * c, c);
                else if (id < 0 && id >= -j && id == MathF.Floor(id)) src = inj.Slice((i * j + (-1 - (int)id)) * c, c);
                else throw new ArgumentException($"Embedding: {ids.Name}[{i},{s}] = {id} is not a row of {table.Name} [0,{v}) nor of {inject?.Name ?? "inject"} (ids -1..-{j})");
                var dst = ys.Slice(m * c, c);
                if (pos is null) src.CopyTo(dst);
                else
                {
                    var pr = ps.Slice(s * c, c);
                    for (var k = 0; k < c; k++) dst[k] = src[k] + pr[k];
                }
            }
        }
    }

    /// <summary>
    /// Reference for embedding_backward: slot j of sample i gathers the dy rows whose id is −1−j, in t order.
    /// Non-negative ids read the frozen table and pass no gradient; the forward has already rejected bad ids.
    /// </summary>
    public void EmbeddingBackward(Tensor dinject, Tensor dy, Tensor ids)
    {
        var (n, t, c, j) = EmbeddingShapes.CheckBackward(dinject, dy, ids);
        var dst = Cpu(dinject).Span;
        var dys = Cpu(dy).Span;
        var idv = Cpu(ids).Span;
        dst.Clear();
        for (var i = 0; i < n; i++)
            for (var slot = 0; slot < j; slot++)
            {
                var row = dst.Slice((i * j + slot) * c, c);
                for (var s = 0; s < t; s++)
                {
                    if (idv[i * t + s] != -1 - slot) continue;
                    var src = dys.Slice((i * t + s) * c, c);
                    for (var k = 0; k < c; k++) row[k] += src[k];
                }
            }
    }
}
