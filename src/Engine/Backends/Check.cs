using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends;

/// <summary>
/// Argument checks that every op runs before touching memory, so that a mismatch is reported with the
/// op, the tensor names and their shapes instead of surfacing as garbage or an out-of-bounds access.
/// </summary>
public static class Check
{
    /// <summary>Requires <paramref name="t"/> to have exactly <paramref name="dims"/> (use -1 for "any").</summary>
    public static void Shape(string op, Tensor t, params int[] dims)
    {
        var s = t.Shape;
        var ok = s.Rank == dims.Length;
        for (var i = 0; ok && i < dims.Length; i++) ok = dims[i] < 0 || s[i] == dims[i];
        if (!ok)
            throw new ArgumentException($"{op}: {t.Name} has shape {s}, expected [{string.Join(",", dims.Select(d => d < 0 ? "*" : d.ToString()))}]");
    }

    public static void Rank(string op, Tensor t, int rank)
    {
        if (t.Shape.Rank != rank) throw new ArgumentException($"{op}: {t.Name} has shape {t.Shape}, expected rank {rank}");
    }

    public static void MinRank(string op, Tensor t, int rank)
    {
        if (t.Shape.Rank < rank) throw new ArgumentException($"{op}: {t.Name} has shape {t.Shape}, expected rank >= {rank}");
    }

    public static void SameShape(string op, Tensor a, Tensor b)
    {
        if (!a.Shape.Equals(b.Shape))
            throw new ArgumentException($"{op}: {a.Name} has shape {a.Shape} but {b.Name} has shape {b.Shape}; they must match");
    }

    public static void Length(string op, Tensor t, long length)
    {
        if (t.Length != length) throw new ArgumentException($"{op}: {t.Name} has shape {t.Shape} ({t.Length} elements), expected {length} elements");
    }

    public static void That(bool condition, string op, string message)
    {
        if (!condition) throw new ArgumentException($"{op}: {message}");
    }

    public static void F32(string op, params Tensor?[] tensors)
    {
        foreach (var t in tensors)
            if (t is not null && t.DType != DType.F32) throw new NotSupportedException($"{op}: {t.Name} is {t.DType}; this op supports F32 only");
    }
}
