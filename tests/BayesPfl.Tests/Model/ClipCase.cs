using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Model;

/// <summary>
/// One run of tests/reference/clip_towers.py: its debug file (inputs and expected intermediates), its
/// weights file loaded onto a backend, and helpers to move tensors between the two.
/// </summary>
internal sealed class ClipCase : IDisposable
{
    private ClipCase(IBackend backend, SafeTensorsFile debug, SafeTensorsFile weightsFile, ClipWeights weights)
    {
        Backend = backend;
        Debug = debug;
        WeightsFile = weightsFile;
        Weights = weights;
    }

    public IBackend Backend { get; }

    public SafeTensorsFile Debug { get; }

    public SafeTensorsFile WeightsFile { get; }

    public ClipWeights Weights { get; }

    public ClipConfig Config => Weights.Config;

    /// <summary>Runs the oracle with <paramref name="args"/> (clip_towers.py flags) and loads its weights onto <paramref name="backend"/>.</summary>
    public static ClipCase Create(IBackend backend, params string[] args) => CreateFrom("clip_towers.py", backend, args);

    /// <summary>Runs an oracle that writes its weights file's path under the metadata key "weights" (clip_towers.py does).</summary>
    public static ClipCase CreateFrom(string script, IBackend backend, params string[] args)
    {
        var debug = Oracle.Run(script, args);
        try
        {
            var weightsFile = SafeTensorsFile.Open(debug.Metadata["weights"]);
            try
            {
                return new ClipCase(backend, debug, weightsFile, ClipWeights.Load(weightsFile, backend));
            }
            catch
            {
                weightsFile.Dispose();
                throw;
            }
        }
        catch
        {
            debug.Dispose();
            throw;
        }
    }

    public float[] Floats(string name) => Debug.ReadFloats(name);

    public int[] Ints(string name) => Debug.ReadInts(name).Select(v => checked((int)v)).ToArray();

    /// <summary>A debug tensor uploaded to the backend (caller disposes).</summary>
    public Tensor Upload(string name)
    {
        var t = Backend.Allocate(new Shape(Debug.Entry(name).Shape), name);
        Backend.Upload(t, Debug.ReadFloats(name));
        return t;
    }

    /// <summary>Images [first, first+count) of in.images, uploaded as one batch.</summary>
    public Tensor UploadImages(int first, int count)
    {
        var shape = Debug.Entry("in.images").Shape;
        var per = shape[1] * shape[2] * shape[3];
        var t = Backend.Allocate(new Shape(count, shape[1], shape[2], shape[3]), $"images[{first}..{first + count})");
        Backend.Upload(t, Floats("in.images").AsSpan(first * per, count * per));
        return t;
    }

    public float[] Download(Tensor t)
    {
        var v = new float[t.Length];
        Backend.Download(t, v);
        return v;
    }

    /// <summary>TensorAssert.Close, also logging the measured errors (the numbers tolerances are justified by).</summary>
    public static void Compare(string name, float[] actual, float[] expected, double atol, double rtol, double maxNmse, Action<string>? log)
    {
        if (log is not null && actual.Length == expected.Length)
        {
            double maxAbs = 0, maxRef = 0, se = 0, norm = 0;
            for (var i = 0; i < actual.Length; i++)
            {
                var d = Math.Abs((double)actual[i] - expected[i]);
                maxAbs = Math.Max(maxAbs, d);
                maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
                se += d * d;
                norm += (double)expected[i] * expected[i];
            }
            log($"{name}: max abs err {maxAbs:G3} (max |ref| {maxRef:G3}), nmse {se / norm:G3}");
        }
        TensorAssert.Close(name, actual, expected, atol, rtol, maxNmse);
    }

    /// <summary>Frees the backend and deletes the oracle's files (the full-size weights are 1.2 GB).</summary>
    public void Dispose()
    {
        Weights.Dispose();
        WeightsFile.Dispose();
        Debug.Dispose();
        Backend.Dispose();
        var dir = Path.GetDirectoryName(Debug.Path);
        if (dir is not null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
