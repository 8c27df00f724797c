using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Data.Training;
using Xunit;
using static BayesPfl.Tests.Data.Training.TrainingData;

namespace BayesPfl.Tests.Data.Training;

public class GeometricTests
{
    [Fact]
    public void Rotate90MatchesNumpyRot90Exactly()
    {
        // 3 wide, 2 high, one channel: numpy rot90([[0,1,2],[3,4,5]], 1) = [[2,5],[1,4],[0,3]].
        var src = new Image8(3, 2, 1, [0, 1, 2, 3, 4, 5], "2x3");
        var once = Geometric.Rotate90(src, 1);
        Assert.Equal((2, 3), (once.Width, once.Height));
        Assert.Equal([2, 5, 1, 4, 0, 3], once.Pixels);
        Assert.Equal([5, 4, 3, 2, 1, 0], Geometric.Rotate90(src, 2).Pixels);
        Assert.Equal([3, 0, 4, 1, 5, 2], Geometric.Rotate90(src, 3).Pixels);
        var rgb = Pattern(7, 5);
        for (var k = 0; k < 4; k++)
            Assert.Equal(rgb.Pixels, Geometric.Rotate90(Geometric.Rotate90(rgb, k), 4 - k).Pixels);
        Assert.Equal(Geometric.Rotate90(Geometric.Rotate90(rgb, 1), 1).Pixels, Geometric.Rotate90(rgb, 2).Pixels);
    }

    [Fact]
    public void RotateByZeroIsTheIdentityAndByNinetyIsRot90()
    {
        var rgb = Pattern(9, 9);
        Assert.Equal(rgb.Pixels, Geometric.Rotate(rgb, 0, nearest: false).Pixels);
        Assert.Equal(rgb.Pixels, Geometric.Rotate(rgb, 0, nearest: true).Pixels);
        // OpenCV's positive angle turns counter-clockwise, as numpy's rot90 does; cos 90° = 6e-17 vanishes on the 1/32 grid.
        Assert.Equal(Geometric.Rotate90(rgb, 1).Pixels, Geometric.Rotate(rgb, 90, nearest: false).Pixels);
        Assert.Equal(Geometric.Rotate90(rgb, 1).Pixels, Geometric.Rotate(rgb, 90, nearest: true).Pixels);
        Assert.Equal(Geometric.Rotate90(rgb, 3).Pixels, Geometric.Rotate(rgb, -90, nearest: false).Pixels);
    }

    [Fact]
    public void RotateReflectsAtTheBorderAndInterpolatesBilinearly()
    {
        // A constant image stays constant under any rotation: reflect-101 brings in no black corners.
        var grey = Solid(13, 8, 90, 90, 90);
        Assert.All(Geometric.Rotate(grey, 27, nearest: false).Pixels, v => Assert.Equal(90, v));
        // A horizontal ramp v = 10 x turned by a small angle: the centre pixel stays, neighbours follow the
        // rotated ramp (within 1 level for rounding and the 1/32 grid).
        var ramp = Image8.Create(21, 21, 1, "ramp");
        for (var y = 0; y < 21; y++)
            for (var x = 0; x < 21; x++) ramp.Pixels[y * 21 + x] = (byte)(10 * x);
        var turned = Geometric.Rotate(ramp, 10, nearest: false);
        Assert.Equal(100, turned.Pixels[10 * 21 + 10]);
        var c = Math.Cos(10 * Math.PI / 180);
        var s = Math.Sin(10 * Math.PI / 180);
        for (var y = 7; y <= 13; y++)
            for (var x = 7; x <= 13; x++)
            {
                var expected = 10 * (c * (x - 10) - s * (y - 10) + 10);
                Assert.InRange(turned.Pixels[y * 21 + x], expected - 1, expected + 1);
            }
        Assert.Equal([1, 0, 1, 2, 3, 4, 3, 2, 1, 0, 1], Enumerable.Range(-1, 11).Select(i => Geometric.Reflect101(i, 5)));
        Assert.Equal(0, Geometric.Reflect101(-3, 1));
    }

    [Fact]
    public void MaskStaysBinaryAndMovesWithTheImage()
    {
        var geometryOnly = AugmentOptions.None with { Rotate = 1, Rotate90 = 1 };
        for (var position = 0; position < 12; position++)
        {
            var mask = Box(24, 16, 2, 3, 7, 5);
            var (image, moved) = Augmenter.Apply(AsRgb(mask), mask, new AugmentRandom(4, 0, position), geometryOnly);
            Assert.All(moved.Pixels, v => Assert.True(v is 0 or 255, $"mask value {v}"));
            Assert.Equal((image.Width, image.Height), (moved.Width, moved.Height));
            Assert.InRange(moved.Pixels.Count(v => v == 255), 25, 45); // the 35-pixel box, give or take its rotated edge
            // The image was the mask: after the same geometry they agree except along the box's edge, where bilinear
            // and nearest sampling may disagree (at most the box's perimeter, 24 pixels).
            var disagree = Enumerable.Range(0, moved.Pixels.Length).Count(i => Math.Abs(image.Pixels[3 * i] - moved.Pixels[i]) > 128);
            Assert.True(disagree <= 24, $"position {position}: {disagree} pixels differ between image and mask");
        }
    }
}
