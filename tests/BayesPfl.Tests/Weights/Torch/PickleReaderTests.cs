using BayesPfl.Engine.Weights;
using BayesPfl.Engine.Weights.Torch;
using Xunit;

namespace BayesPfl.Tests.Weights.Torch;

/// <summary>Hand-assembled pickles for the cases a real torch file never produces.</summary>
public class PickleReaderTests
{
    private static object? Load(params byte[] pickle) =>
        PickleReader.Load(pickle, "test.pkl", _ => new TorchStorage("0", StDType.F32, 6, () => new byte[24]));

    private static byte[] Bytes(string ascii) => System.Text.Encoding.Latin1.GetBytes(ascii);

    [Fact]
    public void BuildsNestedValues()
    {
        // {'a': [1, -2, 3.5, True, None], 'b': (258, 'x')}
        var v = Load([.. Bytes("\u0080\u0002}q\u0000(X\u0001\u0000\u0000\u0000a]q\u0001(K\u0001J\u00fe\u00ff\u00ff\u00ffG@\u000c\u0000\u0000\u0000\u0000\u0000\u0000\u0088Ne\u008c\u0001b"), .. Bytes("M\u0002\u0001\u008c\u0001x\u0086u.")]);
        var d = Assert.IsType<PyDict>(v);
        Assert.True(d.TryGet("a", out var a));
        Assert.Equal([1L, -2L, 3.5, true, null], Assert.IsType<PyList>(a).ToArray());
        Assert.True(d.TryGet("b", out var b));
        Assert.Equal([258L, "x"], Assert.IsType<PyTuple>(b).Items);
    }

    [Fact]
    public void RejectsGlobalsBeforeAnyCall()
    {
        var e = Assert.Throws<InvalidDataException>(() => Load(Bytes("\u0080\u0002cposix\nsystem\n.")));
        Assert.Contains("'posix.system'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Load(Bytes("\u0080\u0002ctorch._utils\n_rebuild_tensor_v3\n.")));
        Assert.Contains("'torch._utils._rebuild_tensor_v3'", e.Message);
    }

    [Fact]
    public void RejectsCorruptStreams()
    {
        Assert.Contains("unsupported pickle opcode 0xff", Assert.Throws<InvalidDataException>(() => Load(0x80, 0x02, 0xff)).Message);
        Assert.Contains("memo key 7 was never stored", Assert.Throws<InvalidDataException>(() => Load(Bytes("\u0080\u0002h\u0007."))).Message);
        Assert.Contains("unexpected end of pickle", Assert.Throws<InvalidDataException>(() => Load(Bytes("\u0080\u0002}"))).Message);
        Assert.Contains("stack underflow", Assert.Throws<InvalidDataException>(() => Load(Bytes("\u0080\u0002(s."))).Message);
        Assert.Contains("FRAME length", Assert.Throws<InvalidDataException>(() => Load(Bytes("\u0080\u0004\u0095\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u007f}."))).Message);
    }

    [Fact]
    public void RejectsTensorViewsOutsideTheirStorage()
    {
        // _rebuild_tensor_v2(storage(6 floats), offset 2, size (2, 3), stride (3, 1)) reaches element 7.
        var pickle = Bytes("\u0080\u0002ctorch._utils\n_rebuild_tensor_v2\n((X\u0007\u0000\u0000\u0000storagectorch\nFloatStorage\nX\u0001\u0000\u0000\u00000X\u0003\u0000\u0000\u0000cpuK\u0006tQK\u0002K\u0002K\u0003\u0086K\u0003K\u0001\u0086\u0089)tR.");
        var e = Assert.Throws<InvalidDataException>(() => Load(pickle));
        Assert.Contains("reaches element 7 of storage '0', which holds 6", e.Message);
        pickle[pickle.Length - 16] = 0x00; // offset 0: the last element read is 5, inside
        var t = Assert.IsType<TorchTensor>(Load(pickle));
        Assert.Equal([2, 3], t.Shape);
    }
}
