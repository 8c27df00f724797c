using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Training.Heads;

/// <summary>
/// The tensors one head-loss run allocates, freed together at its end; <see cref="Bytes"/> is their total
/// (everything is alive at once, so it is the run's peak), which the memory plan reads.
/// </summary>
internal sealed class Workspace(IBackend backend) : IDisposable
{
    private readonly List<IDisposable> owned = [];

    public long Bytes { get; private set; }

    public IBackend Backend => backend;

    public Tensor Get(string name, params int[] dims)
    {
        var t = backend.Allocate(new Shape(dims), name);
        owned.Add(t);
        Bytes += t.Bytes;
        return t;
    }

    /// <summary>Takes ownership of a saved-activation record allocated elsewhere.</summary>
    public T Keep<T>(T saved, long bytes) where T : IDisposable
    {
        owned.Add(saved);
        Bytes += bytes;
        return saved;
    }

    public float[] Download(Tensor t)
    {
        var data = new float[t.Length];
        backend.Download(t, data);
        return data;
    }

    /// <summary>Adds <paramref name="value"/> to the single value of a [1] gradient (one small round trip).</summary>
    public void AddToScalar(Tensor grad, double value)
    {
        var one = Download(grad);
        one[0] = (float)(one[0] + value);
        backend.Upload(grad, one);
    }

    public void Dispose()
    {
        foreach (var t in owned) t.Dispose();
    }
}
