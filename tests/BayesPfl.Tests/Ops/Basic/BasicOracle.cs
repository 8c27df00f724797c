using System.Runtime.InteropServices;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Ops.Basic;

/// <summary>
/// One run of tests/reference/ops_basic.py (fresh seed) shared by a test class: inputs, outputs, upstream
/// gradients and autograd gradients of every basic op, named "op.tensor".
/// </summary>
public sealed class BasicOracle : IDisposable
{
    private readonly SafeTensorsFile file = Oracle.Run("ops_basic.py");

    public string Seed => file.Metadata["seed"];

    public float[] F(string name) => file.ReadFloats(name);

    public int[] Shape(string name) => file.Entry(name).Shape;

    public double[] D(string name) => MemoryMarshal.Cast<byte, double>(file.ReadBytes(name)).ToArray();

    public void Dispose() => file.Dispose();
}
