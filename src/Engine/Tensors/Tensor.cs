using BayesPfl.Engine.Backends;

namespace BayesPfl.Engine.Tensors;

/// <summary>
/// A dense, contiguous, row-major tensor that lives on one backend. A tensor may be a view: a window of
/// another tensor's storage (same backend, its own shape); disposing a view frees nothing.
/// The name is used in error messages ("ln_1.weight: expected [768], got [1024]").
/// </summary>
public abstract class Tensor : IDisposable
{
    protected Tensor(string name, Shape shape, DType dtype)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
    }

    public string Name { get; }

    public Shape Shape { get; }

    public DType DType { get; }

    public long Length => Shape.Length;

    public long Bytes => Length * DType.Size();

    public abstract IBackend Backend { get; }

    /// <summary>A view of <paramref name="shape"/>.Length elements starting at element <paramref name="offset"/>.</summary>
    public abstract Tensor View(long offset, Shape shape, string? name = null);

    /// <summary>The same storage under another shape of equal length.</summary>
    public Tensor Reshape(params int[] dims)
    {
        var s = new Shape(dims);
        if (s.Length != Length) throw new ArgumentException($"{Name}: cannot reshape {Shape} to {s}");
        return View(0, s, Name);
    }

    public abstract void Dispose();

    public override string ToString() => $"{Name}{Shape} {DType} on {Backend.Name}";
}
