using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Reports;
using BayesPfl.Tests.Infra;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace BayesPfl.Tests.Reports;

public class HeatmapOverlayTests
{
    [Fact]
    public void TriptychHasTheImageTheBlendAndTheOutlineAtTheImageSize()
    {
        // 37x23: odd, not square; a block of map value 1 at x 10..24, y 5..16 on 0.
        const int w = 37, h = 23;
        var pixels = new byte[w * h * 3];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 % 251);
        var rgb = new Image8(w, h, 3, pixels, "synthetic");
        var map = new float[w * h];
        for (var y = 5; y < 17; y++)
            for (var x = 10; x < 25; x++) map[y * w + x] = 1f;
        var path = Path.Combine(Repo.TempDir("overlay"), "o.png");
        HeatmapOverlay.Save(path, rgb, map, 0.5);
        using var img = Image.Load<Rgb24>(path);
        Assert.Equal((3 * w, h), (img.Width, img.Height));
        Rgb24 Src(int x, int y) => new(pixels[3 * (y * w + x)], pixels[3 * (y * w + x) + 1], pixels[3 * (y * w + x) + 2]);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                Assert.Equal(Src(x, y), img[x, y]);
                var jet = map[y * w + x] == 1f ? new Rgb24(128, 0, 0) : new Rgb24(0, 0, 128);
                var s = Src(x, y);
                // ±1: the blend rounds 0.5·a + 0.5·b, which is exact only up to the half-level.
                var mid = img[w + x, y];
                Assert.InRange(mid.R, (s.R + jet.R) / 2 - 1, (s.R + jet.R) / 2 + 1);
                Assert.InRange(mid.B, (s.B + jet.B) / 2 - 1, (s.B + jet.B) / 2 + 1);
                var border = map[y * w + x] == 1f && (x is 10 or 24 || y is 5 or 16);
                Assert.Equal(border ? HeatmapOverlay.Outline : s, img[2 * w + x, y]);
            }
    }

    [Fact]
    public void JetRunsFromDarkBlueThroughGreenToDarkRedAndClamps()
    {
        Assert.Equal(new Rgb24(0, 0, 128), HeatmapOverlay.Jet(0));
        Assert.Equal(new Rgb24(128, 255, 128), HeatmapOverlay.Jet(0.5f));
        Assert.Equal(new Rgb24(128, 0, 0), HeatmapOverlay.Jet(1));
        Assert.Equal(HeatmapOverlay.Jet(1), HeatmapOverlay.Jet(7));
        Assert.Equal(HeatmapOverlay.Jet(0), HeatmapOverlay.Jet(float.NaN));
    }

    [Fact]
    public void OutlineIsWidthPixelsThickInsideTheRegion()
    {
        const int s = 40;
        var map = new float[s * s];
        for (var y = 10; y < 30; y++)
            for (var x = 10; x < 30; x++) map[y * s + x] = 0.9f;
        var band = HeatmapOverlay.Contour(map, s, s, 0.5, 3);
        for (var y = 0; y < s; y++)
            for (var x = 0; x < s; x++)
            {
                var inside = x is >= 10 and < 30 && y is >= 10 and < 30;
                var deep = x is >= 13 and < 27 && y is >= 13 and < 27;
                Assert.Equal(inside && !deep, band[y * s + x]);
            }
    }
}
