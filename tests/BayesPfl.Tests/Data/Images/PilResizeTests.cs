using System.Text.Json;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Data.Images;

/// <summary>Decoding, PIL-compatible resizing, normalisation and mask binarisation against PIL itself
/// (tests/reference/pil_resize.py).</summary>
public class PilResizeTests(ITestOutputHelper log)
{
    /// <summary>(file name, width, height, kind, output width, output height).</summary>
    private static readonly (string Name, int W, int H, string Kind, int OutW, int OutH)[] Cases =
    [
        ("one.png", 1, 1, "rgb", 518, 518),
        ("tiny.png", 7, 13, "rgb", 518, 518),
        ("tiny_up.png", 7, 13, "rgb", 40, 23),
        ("wide.png", 300, 200, "rgb", 518, 518),
        ("wide_odd.png", 300, 200, "rgb", 123, 456),
        ("tall.png", 600, 900, "rgb", 518, 518),
        ("same.png", 518, 518, "rgb", 518, 518),
        ("big.png", 1024, 768, "rgb", 518, 518),
        ("big_small.png", 1024, 768, "rgb", 33, 77),
        ("only_h.png", 300, 518, "rgb", 518, 518),
        ("only_v.png", 518, 301, "rgb", 518, 518),
        ("gray.png", 640, 480, "gray", 518, 518),
        ("rgba.png", 333, 517, "rgba", 518, 518),
        ("rgb16.png", 250, 190, "rgb16", 518, 518),
        ("mask.png", 700, 500, "mask", 518, 518),
        ("bitmap.bmp", 211, 307, "rgb", 518, 518),
        ("scan.tiff", 190, 250, "rgb", 518, 518),
    ];

    [Fact]
    public void MatchesPilBitForBit()
    {
        var dir = Repo.TempDir("pil");
        var paths = Cases.Select((c, i) => TestImages.Save(dir, c.Name, c.W, c.H, c.Kind, seed: i + 1)).ToArray();
        using var pil = RunOracle(dir, paths.Select((p, i) => new object[] { p, Cases[i].OutW, Cases[i].OutH }), []);
        for (var i = 0; i < Cases.Length; i++)
        {
            var (name, _, _, _, ow, oh) = Cases[i];
            var decoded = ImageFile.LoadRgb(paths[i]);
            Assert.Equal(pil.ReadBytes($"decode.{i}"), decoded.Pixels);

            // PIL's algorithm is integer arithmetic on identically rounded weights: expect identity, not closeness.
            var resized = PilResample.Resize(decoded, ow, oh, PilFilter.Bicubic);
            var (differ, maxDiff) = Diff(resized.Pixels, pil.ReadBytes($"rgb.{i}"));
            log.WriteLine($"{name} {Cases[i].W}x{Cases[i].H} -> {ow}x{oh}: {differ} of {resized.Pixels.Length} bytes differ from PIL (max {maxDiff})");
            Assert.True(differ == 0, $"{name}: bicubic resize to {ow}x{oh}: {differ} bytes differ from PIL, max {maxDiff} grey levels");

            // Same uint8 input and the same float32 operations in the same order as torchvision: bitwise equal.
            var norm = new float[3 * ow * oh];
            ClipPreprocess.Normalize(resized, norm);
            TensorAssert.Close($"{name} normalised", norm, pil.ReadFloats($"norm.{i}"), 0, 0);

            var gray = PilResample.Resize(ImageFile.LoadGray(paths[i]), ow, oh, PilFilter.Bilinear);
            (differ, maxDiff) = Diff(gray.Pixels, pil.ReadBytes($"gray.{i}"));
            Assert.True(differ == 0, $"{name}: 'L' bilinear resize to {ow}x{oh}: {differ} bytes differ from PIL, max {maxDiff}");
            if (ow == oh)
                TensorAssert.Close($"{name} mask", ClipPreprocess.LoadMask(paths[i], ow), pil.ReadFloats($"mask.{i}"), 0, 0);
        }
    }

    [Fact]
    public void BatchLoaderStacksSingleImages()
    {
        var dir = Repo.TempDir("batch");
        string[] paths = [TestImages.Save(dir, "a.png", 64, 48, "rgb"), TestImages.Save(dir, "b.png", 20, 90, "gray"), TestImages.Save(dir, "c.png", 64, 48, "rgba", 7)];
        const int S = 37;
        var batch = ClipPreprocess.LoadBatch(paths, S);
        Assert.Equal(paths.Length * 3 * S * S, batch.Length);
        for (var i = 0; i < paths.Length; i++)
            Assert.Equal(ClipPreprocess.LoadImage(paths[i], S), batch.AsSpan(i * 3 * S * S, 3 * S * S).ToArray());
    }

    [Fact]
    public void MapResizeMatchesTorchBilinear()
    {
        object[][] maps = [[518, 518, 1024, 768, 0], [37, 37, 518, 518, 1], [37, 37, 518, 518, 0], [7, 13, 5, 40, 0], [1, 1, 3, 4, 0], [9, 4, 1, 1, 1]];
        using var torch = RunOracle(Repo.TempDir("map"), [], maps);
        for (var j = 0; j < maps.Length; j++)
        {
            int ih = (int)maps[j][0], iw = (int)maps[j][1], oh = (int)maps[j][2], ow = (int)maps[j][3];
            var got = MapResize.Bilinear(torch.ReadFloats($"map_in.{j}"), ih, iw, oh, ow, (int)maps[j][4] == 1);
            // Same taps and float32 weights as PyTorch; only the order of the four float32 products and sums may
            // differ, worth 1 ulp (1.2e-7) of values in [0,1) as measured; a float32-rounded source coordinate
            // instead of PyTorch's double one would show up as ~2e-5.
            TensorAssert.Close($"map {ih}x{iw} -> {oh}x{ow}", got, torch.ReadFloats($"map_out.{j}"), 3e-7, 0);
        }
    }

    internal static Engine.Weights.SafeTensorsFile RunOracle(string dir, IEnumerable<object[]> images, object[][] maps)
    {
        var manifest = Path.Combine(dir, "manifest.json");
        File.WriteAllText(manifest, JsonSerializer.Serialize(new Dictionary<string, object> { ["images"] = images.ToArray(), ["maps"] = maps }));
        return Oracle.Run("pil_resize.py", "--in", manifest);
    }

    internal static (int Count, int Max) Diff(byte[] a, byte[] b)
    {
        Assert.Equal(b.Length, a.Length);
        int count = 0, max = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = Math.Abs(a[i] - b[i]);
            if (d != 0) count++;
            max = Math.Max(max, d);
        }
        return (count, max);
    }
}
