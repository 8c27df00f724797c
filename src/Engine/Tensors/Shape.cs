namespace BayesPfl.Engine.Tensors;

/// <summary>An immutable tensor shape, row-major (last dimension fastest).</summary>
public sealed class Shape : IEquatable<Shape>
{
    private readonly int[] dims;

    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(",", dims)}]");
        this.dims = (int[])dims.Clone();
        long n = 1;
        foreach (var d in dims) n = checked(n * d);
        Length = n;
    }

    public int Rank => dims.Length;

    public long Length { get; }

    public ReadOnlySpan<int> Dims => dims;

    /// <summary>Dimension i; negative i counts from the end.</summary>
    public int this[int i] => dims[i < 0 ? dims.Length + i : i];

    /// <summary>The last dimension: the row width that row-wise ops work over.</summary>
    public int Cols => dims.Length == 0 ? 1 : dims[^1];

    /// <summary>Product of all but the last dimension.</summary>
    public int Rows => Cols == 0 ? 0 : checked((int)(Length / Cols));

    public bool Equals(Shape? other) => other is not null && dims.AsSpan().SequenceEqual(other.dims);

    public override bool Equals(object? obj) => Equals(obj as Shape);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in dims) h.Add(d);
        return h.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(",", dims) + "]";

    public static implicit operator Shape(int[] dims) => new(dims);
}
