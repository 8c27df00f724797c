using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Attention.DeviceKit;
using static BayesPfl.Tests.Ops.Bf16.Bf16Kit;
using HostBf16 = BayesPfl.Engine.Tensors.Bf16;

namespace BayesPfl.Tests.Ops.Bf16;

/// <summary>
/// The one bf16 rounding, everywhere bit for bit: the host's Bf16 against hand-derived bits, then the CPU Cast and
/// the cast kernel (emulated) against the host, in both directions and at lengths 1, 7, 33, 1370.
/// </summary>
public sealed class CastTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var backend in new[] { "cpu", "emulated" })
            foreach (var n in new[] { 1, 7, 33, 1370 })
                data.Add(backend, n);
        return data;
    }

    [Fact]
    public void HostRoundsToNearestEven()
    {
        foreach (var (f32, bf16, why) in Hostile)
        {
            var got = HostBf16.FromFloat(BitConverter.UInt32BitsToSingle(f32));
            Assert.True(got == bf16, $"Bf16.FromFloat(0x{f32:X8}) = 0x{got:X4}, expected 0x{bf16:X4}: {why}");
            Assert.Equal(bf16, HostBf16.FromFloat(HostBf16.ToFloat(bf16)));  // bf16 values are fixed points
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CastMatchesHostBitForBit(string backend, int n)
    {
        using var be = Make(backend);
        var v = Values(n, n);
        var want = Rounded(v);
        using var x = Put(be, "x", v, DType.F32, n);
        using var xb = be.Allocate(new Shape(n), "xb", DType.BF16);
        be.Cast(xb, x);
        AfterLaunch(be);
        AssertBits($"{backend} Cast F32→BF16", Get(xb), want, v);

        // Widening is exact: the F32 copy holds the very same values, and BF16 → BF16 / F32 → F32 are plain copies.
        using var back = Put(be, "back", Enumerable.Repeat(float.NaN, n).ToArray(), DType.F32, n);
        be.Cast(back, xb);
        AfterLaunch(be);
        AssertBits($"{backend} Cast BF16→F32", Get(back), want);
        using var same = be.Allocate(new Shape(n), "same", DType.BF16);
        be.Cast(same, xb);
        AssertBits($"{backend} Cast BF16→BF16", Get(same), want);
        using var copy = be.Allocate(new Shape(n), "copy");
        be.Cast(copy, x);
        AssertBits($"{backend} Cast F32→F32", Get(copy), v);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("emulated")]
    public void UploadRoundsAndDownloadWidens(string backend)
    {
        using var be = Make(backend);
        const int n = 1370;
        var v = Values(n, 3);
        using var t = Put(be, "t", v, DType.BF16, n);
        AssertBits($"{backend} BF16 round trip", Get(t), Rounded(v), v);
        // bf16-exact values survive unchanged; a view at an odd offset writes only its own 2-byte elements.
        var exact = Rounded(Values(n, 4));
        be.Upload(t, exact);
        var view = t.View(3, new Shape(5), "view");
        var five = Rounded([1.5f, -2.25f, 3e-39f, float.MaxValue, float.NaN]);
        be.Upload(view, five);
        AssertBits($"{backend} view", Get(view), five);
        var whole = Get(t);
        Array.Copy(five, 0, exact, 3, 5);
        AssertBits($"{backend} around the view", whole, exact);
        using var copy = be.Allocate(t.Shape, "copy", DType.BF16);
        be.Copy(copy, t);
        AssertBits($"{backend} Copy BF16", Get(copy), exact);
    }

    /// <summary>The cast kernel on the GPU machine: the same bits as the host at a length that spans many grid strides.</summary>
    [Fact]
    public void CastOnRealGpuMatchesHost()
    {
        using var gpu = Basic.RealGpu.BackendOrSkip();
        const int n = 2048 * 256 * 3 + 7;  // more than one full capped grid (2048 blocks of 256) and a ragged tail
        var v = Values(n, 9);
        using var x = Put(gpu, "x", v, DType.F32, n);
        using var xb = gpu.Allocate(new Shape(n), "xb", DType.BF16);
        gpu.Cast(xb, x);
        using var back = gpu.Allocate(new Shape(n), "back");
        gpu.Cast(back, xb);
        AfterLaunch(gpu);
        AssertBits("GPU Cast F32→BF16", Get(xb), Rounded(v), v);
        AssertBits("GPU Cast BF16→F32", Get(back), Rounded(v));
    }

    internal static IBackend Make(string backend) => backend == "cpu" ? TestBackends.Cpu() : TestBackends.Emulated();
}
