using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

/// <summary>IBackend.Embedding: the gather + splice + positional add that builds the text input.</summary>
public class EmbeddingOpTests
{
    [Fact]
    public void CpuGathersSplicesAndAddsPositions()
    {
        using var cpu = TestBackends.Cpu();
        const int v = 5, c = 3, j = 2;
        var table = Enumerable.Range(0, v * c).Select(i => (float)i).ToArray();          // row r = [3r, 3r+1, 3r+2]
        var pos = Enumerable.Range(0, 4 * c).Select(i => 1000f * (i / c + 1)).ToArray(); // row t = 1000(t+1)
        var inject = Enumerable.Range(0, 2 * j * c).Select(i => -(float)i - 1).ToArray();
        float[] ids = [4, -1, -2, 0, 2, -2, 3, -1];                                        // [2,4]
        var y = Run(cpu, ids, table, pos, inject, n: 2, t: 4, c, j);
        float[] expected =
        [
            1012, 1013, 1014, /* table 4 */ 1999, 1998, 1997, /* inject[0,0] */ 2996, 2995, 2994, /* inject[0,1] */ 4000, 4001, 4002,
            1006, 1007, 1008, /* table 2 */ 1990, 1989, 1988, /* inject[1,1] */ 3009, 3010, 3011, /* table 3 */ 3993, 3992, 3991,
        ];
        Assert.Equal(expected, y);
        Assert.Equal(table.AsSpan(2 * c, c).ToArray(), Run(cpu, [2], table, null, null, n: 1, t: 1, c, 0));
    }

    [Theory]
    [InlineData(5f)]
    [InlineData(-3f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void CpuRejectsIdsThatNameNoRow(float id)
    {
        using var cpu = TestBackends.Cpu();
        var e = Assert.Throws<ArgumentException>(() => Run(cpu, [0, id], new float[5 * 3], null, new float[2 * 3], n: 1, t: 2, c: 3, j: 2));
        Assert.Contains("ids[0,1]", e.Message);
    }

    [Fact]
    public void ChecksShapes()
    {
        using var cpu = TestBackends.Cpu();
        using var y = cpu.Allocate(new Shape(2, 3, 4), "y");
        using var ids = cpu.Allocate(new Shape(2, 3), "ids");
        using var table = cpu.Allocate(new Shape(10, 4), "table");
        using var shortPos = cpu.Allocate(new Shape(2, 4), "pos");
        using var inject = cpu.Allocate(new Shape(3, 1, 4), "inject");
        Assert.Contains("pos has shape [2,4], expected at least 3 rows", Assert.Throws<ArgumentException>(() => cpu.Embedding(y, ids, table, shortPos, null)).Message);
        Assert.Contains("inject has shape [3,1,4]", Assert.Throws<ArgumentException>(() => cpu.Embedding(y, ids, table, null, inject)).Message);
    }

    /// <summary>Hostile sizes: widths that are not multiples of 4 or 32, one row, 197 rows.</summary>
    [Theory]
    [InlineData(1, 1, 1, 0)]
    [InlineData(3, 13, 33, 10)]
    [InlineData(1, 197, 7, 3)]
    [InlineData(2, 5, 130, 1)]
    public void EmulatedKernelMatchesTheCpuBitwise(int n, int t, int c, int j)
    {
        const int v = 11;
        var rng = new Random(n * 1000 + t * 10 + c);
        var table = FiniteDiff.RandomFloats(v * c, 1);
        var pos = FiniteDiff.RandomFloats((t + 2) * c, 2);
        var inject = j > 0 ? FiniteDiff.RandomFloats(n * j * c, 3) : null;
        var ids = Enumerable.Range(0, n * t).Select(_ => (float)rng.Next(-j, v)).ToArray();
        using var cpu = TestBackends.Cpu();
        using var emu = TestBackends.Emulated();
        TensorAssert.BitwiseEqual("embedding with pos", Run(emu, ids, table, pos, inject, n, t, c, j), Run(cpu, ids, table, pos, inject, n, t, c, j));
        TensorAssert.BitwiseEqual("embedding without pos", Run(emu, ids, table, null, inject, n, t, c, j), Run(cpu, ids, table, null, inject, n, t, c, j));
    }

    [Fact]
    public void EmulatedKernelWritesNanRowsForBadIds()
    {
        using var emu = TestBackends.Emulated();
        var y = Run(emu, [1, 9, -2], FiniteDiff.RandomFloats(4 * 6, 1), null, new float[6], n: 1, t: 3, c: 6, j: 1);
        TensorAssert.AllFinite("good row", y.AsSpan(0, 6));
        Assert.All(y[6..], v => Assert.True(float.IsNaN(v)));
    }

    private static float[] Run(IBackend b, float[] ids, float[] table, float[]? pos, float[]? inject, int n, int t, int c, int j)
    {
        using var yT = b.Allocate(new Shape(n, t, c), "y");
        using var idsT = Put(b, "ids", ids, n, t);
        using var tableT = Put(b, "table", table, table.Length / c, c);
        using var posT = pos is null ? null : Put(b, "pos", pos, pos.Length / c, c);
        using var injectT = inject is null ? null : Put(b, "inject", inject, n, j, c);
        b.Embedding(yT, idsT, tableT, posT, injectT);
        var y = new float[yT.Length];
        b.Download(yT, y);
        return y;
    }

    private static Tensor Put(IBackend b, string name, float[] data, params int[] shape)
    {
        var t = b.Allocate(new Shape(shape), name);
        b.Upload(t, data);
        return t;
    }
}
