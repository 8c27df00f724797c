using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Tests.Head;

/// <summary>Upload / run / download helpers shared by the head tests.</summary>
internal static class HeadOps
{
    public static Tensor Put(IBackend be, string name, float[] data, params int[] dims)
    {
        var t = be.Allocate(new Shape(dims), name);
        be.Upload(t, data);
        return t;
    }

    public static float[] Get(IBackend be, Tensor t)
    {
        be.Synchronize();
        var host = new float[t.Length];
        be.Download(t, host);
        return host;
    }

    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);
}
