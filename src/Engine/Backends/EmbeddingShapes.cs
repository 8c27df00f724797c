using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends;

/// <summary>The shape rules of <see cref="IBackend.Embedding"/>, shared by every backend's launcher.</summary>
internal static class EmbeddingShapes
{
    /// <summary>Checks the operands and returns (n, T, C, V, J).</summary>
    public static (int N, int T, int C, int V, int J) Check(Tensor y, Tensor ids, Tensor table, Tensor? pos, Tensor? inject)
    {
        const string op = "Embedding";
        Backends.Check.F32(op, y, ids, table, pos, inject);
        Backends.Check.Rank(op, ids, 2);
        Backends.Check.Rank(op, table, 2);
        int n = ids.Shape[0], t = ids.Shape[1], c = table.Shape[1], v = table.Shape[0];
        Backends.Check.Shape(op, y, n, t, c);
        if (pos is not null)
        {
            Backends.Check.Rank(op, pos, 2);
            Backends.Check.That(pos.Shape[0] >= t && pos.Shape[1] == c, op,
                $"{pos.Name} has shape {pos.Shape}, expected at least {t} rows of width {c}");
        }
        var j = 0;
        if (inject is not null)
        {
            Backends.Check.Shape(op, inject, n, -1, c);
            j = inject.Shape[1];
        }
        return (n, t, c, v, j);
    }

    /// <summary>Checks the operands of <see cref="IBackend.EmbeddingBackward"/> and returns (n, T, C, J).</summary>
    public static (int N, int T, int C, int J) CheckBackward(Tensor dinject, Tensor dy, Tensor ids)
    {
        const string op = "EmbeddingBackward";
        Backends.Check.F32(op, dinject, dy, ids);
        Backends.Check.Rank(op, ids, 2);
        Backends.Check.Rank(op, dy, 3);
        int n = ids.Shape[0], t = ids.Shape[1], c = dy.Shape[2];
        Backends.Check.Shape(op, dy, n, t, c);
        Backends.Check.Shape(op, dinject, n, -1, c);
        return (n, t, c, dinject.Shape[1]);
    }
}
