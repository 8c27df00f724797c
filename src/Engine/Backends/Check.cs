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

    public static void F32(string op, params Tensor?[] tensors) => RequireF32(op, "this op supports F32 only", tensors);

    /// <summary>F32 only, for the training ops (backward passes, the GEMMs of the head): bf16 has no gradients here.</summary>
    public static void F32Training(string op, params Tensor?[] tensors) => RequireF32(op, "bf16 is inference-only, this op takes F32", tensors);

    public static void SameDType(string op, Tensor a, Tensor b)
    {
        if (a.DType != b.DType) throw new NotSupportedException($"{op}: {a.Name} is {a.DType} but {b.Name} is {b.DType}; they must match");
    }

    /// <summary>
    /// The operand types of a (bf16-capable) GEMM: F32·F32, or weights w BF16 with x F32 (rounded to bf16 by the
    /// op) or BF16. x BF16 with F32 weights has no kernel and would silently lose precision, so it is an error.
    /// </summary>
    public static void GemmOperands(string op, Tensor x, Tensor w)
    {
        if (x.DType == DType.BF16 && w.DType == DType.F32)
            throw new NotSupportedException($"{op}: {x.Name} is BF16 but {w.Name} is F32; a BF16 input needs BF16 weights");
    }

    private static void RequireF32(string op, string why, Tensor?[] tensors)
    {
        foreach (var t in tensors)
            if (t is not null && t.DType != DType.F32) throw new NotSupportedException($"{op}: {t.Name} is {t.DType}; {why}");
    }
}
