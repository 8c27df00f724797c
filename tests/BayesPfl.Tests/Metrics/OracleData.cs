using System.Runtime.InteropServices;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Tests.Metrics;

/// <summary>Reads metrics_oracle.py outputs without the fp32 round trip of ReadFloats (results are float64).</summary>
internal static class OracleData
{
    public static double[] Doubles(SafeTensorsFile f, string name)
    {
        if (f.Entry(name).DType != StDType.F64) throw new InvalidDataException($"{f.Path}: '{name}' is {f.Entry(name).DType}, expected F64");
        return MemoryMarshal.Cast<byte, double>(f.ReadBytes(name)).ToArray();
    }

    public static double Scalar(SafeTensorsFile f, string name) => Doubles(f, name)[0];

    public static byte[] Bytes(SafeTensorsFile f, string name) => f.ReadBytes(name);

    /// <summary>Splits a flat array into maps of the given size.</summary>
    public static T[][] Split<T>(T[] flat, int size) =>
        [.. Enumerable.Range(0, flat.Length / size).Select(i => flat.AsSpan(i * size, size).ToArray())];

    /// <summary>Splits a flat array into uneven consecutive pieces (sizes cycle through `sizes`).</summary>
    public static T[][] Pieces<T>(T[] flat, params int[] sizes)
    {
        var list = new List<T[]>();
        for (int o = 0, i = 0; o < flat.Length; i++)
        {
            var n = Math.Min(sizes[i % sizes.Length], flat.Length - o);
            list.Add(flat.AsSpan(o, n).ToArray());
            o += n;
        }
        return [.. list];
    }

    public static string Seed(SafeTensorsFile f) => f.Metadata["seed"];
}
