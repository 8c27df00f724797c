using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Data.Training;
using Xunit;
using static BayesPfl.Tests.Data.Training.TrainingData;

namespace BayesPfl.Tests.Data.Training;

public class PhotometricTests
{
    // albumentations: float32 LUT v·α + β·255, clipped to [0, 255], then astype(uint8), which truncates.
    [Theory]
    [InlineData(100, 1.1, 0.05, 122)] // 110 + 12.75
    [InlineData(100, 0.8, -0.2, 29)] // 80 − 51
    [InlineData(250, 1.2, 0.1, 255)] // 300 + 25.5, clipped
    [InlineData(10, 0.85, -0.15, 0)] // 8.5 − 38.25, clipped
    [InlineData(37, 1.0, 0.0, 37)]
    public void BrightnessContrastIsAlbumentationsFormulaOnAConstantImage(int value, double alpha, double beta, int expected)
    {
        var image = Solid(5, 4, (byte)value, (byte)value, (byte)value);
        Photometric.BrightnessContrast(image, alpha, beta);
        Assert.All(image.Pixels, v => Assert.Equal(expected, v));
    }

    [Fact]
    public void GaussNoiseHasTheRequestedSpreadAndIsSeeded()
    {
        var image = Solid(64, 64, 128, 128, 128);
        Photometric.GaussNoise(image, Math.Sqrt(30), new AugmentRandom(1, 2, 3));
        var deltas = image.Pixels.Select(v => v - 128.0).ToArray();
        var mean = deltas.Average();
        var std = Math.Sqrt(deltas.Select(d => (d - mean) * (d - mean)).Average());
        // 12288 draws: the mean's standard error is 0.05, so ±0.25 around −0.5 (truncation's bias) is ~5 sigma; the
        // spread of truncated normals is sqrt(30 + 1/12) ≈ 5.48, the sample std's error ~0.035, ±0.2 is ~6 sigma.
        Assert.InRange(mean, -0.75, -0.25);
        Assert.InRange(std, 5.28, 5.68);
        var again = Solid(64, 64, 128, 128, 128);
        Photometric.GaussNoise(again, Math.Sqrt(30), new AugmentRandom(1, 2, 3));
        Assert.Equal(image.Pixels, again.Pixels);
    }

    [Fact]
    public void NoiseQuantilesAreTheStandardNormals()
    {
        var table = Photometric.NormalQuantiles.Value;
        // scipy.stats.norm.ppf((i + 0.5) / 65536); the table is float, so 1e-6 absolute (float resolution near 4.3
        // is 5e-7; Acklam's approximation adds under 4e-9).
        foreach (var (i, ppf) in new[] { (0, -4.324919040826045), (1000, -2.1631084815747497), (32768, 1.9124056051512087e-05), (60000, 1.375649887283797) })
            Assert.InRange(table[i], ppf - 1e-6, ppf + 1e-6);
        // Equal-probability cells: mean 0 by symmetry, variance 1 less the tails beyond 4.3 (about 2e-5).
        Assert.InRange(table.Average(v => (double)v), -1e-6, 1e-6);
        Assert.InRange(table.Average(v => (double)v * v), 0.9999, 1.0);
    }

    [Fact]
    public void BlursPreserveConstantsAndSpreadAnImpulseByTheirKernels()
    {
        Assert.All(Photometric.BoxBlur(Solid(6, 5, 7, 80, 200), 3).Pixels.Chunk(3), p => Assert.Equal([7, 80, 200], p));
        Assert.All(Photometric.GaussianBlur(Solid(6, 5, 7, 80, 200), 7).Pixels.Chunk(3), p => Assert.Equal([7, 80, 200], p));
        var impulse = Image8.Create(9, 9, 1, "impulse");
        impulse.Pixels[4 * 9 + 4] = 255;
        var box = Photometric.BoxBlur(impulse, 3);
        Assert.Equal(28, box.Pixels[3 * 9 + 3]); // round(255 / 9)
        Assert.Equal(9 * 28, box.Pixels.Sum(v => v));
        // OpenCV's fixed 3-tap kernel [1 2 1]/4: centre 255·(1/2)² = 63.75 -> 64, edge 255·(1/2)(1/4) = 31.875 -> 32, corner 15.94 -> 16.
        var g3 = Photometric.GaussianBlur(impulse, 3);
        Assert.Equal((64, 32, 16), (g3.Pixels[4 * 9 + 4], g3.Pixels[4 * 9 + 3], g3.Pixels[3 * 9 + 3]));
        // 7 taps [2 7 14 18 14 7 2]/64: centre 255·(18/64)² = 20.17 -> 20; the outermost corner 255·(2/64)² = 0.25 -> 0, 3 left of centre 255·(18·2/64²) = 2.24 -> 2.
        var g7 = Photometric.GaussianBlur(impulse, 7);
        Assert.Equal((20, 0, 2), (g7.Pixels[4 * 9 + 4], g7.Pixels[1 * 9 + 1], g7.Pixels[4 * 9 + 1]));
    }

    [Fact]
    public void ColorJitterOperationsFollowOpenCvAndTorchvisionSemantics()
    {
        // OpenCV's 8-bit hue has 180 steps: red is 0, green 60; a factor of ±0.5 turns by 90 steps (180°).
        var red = Solid(2, 2, 255, 0, 0);
        ColorJitter.Hue(red, 0.5);
        Assert.Equal([0, 255, 255], red.Pixels[..3]);
        var red2 = Solid(2, 2, 255, 0, 0);
        ColorJitter.Hue(red2, -0.5);
        Assert.Equal([0, 255, 255], red2.Pixels[..3]);
        var green = Solid(2, 2, 0, 255, 0);
        ColorJitter.Hue(green, 0.5);
        Assert.Equal([255, 0, 255], green.Pixels[..3]);
        var grey = Solid(2, 2, 77, 77, 77);
        ColorJitter.Hue(grey, 0.2); // no saturation, no hue to turn
        Assert.All(grey.Pixels, v => Assert.Equal(77, v));
        var colour = Solid(2, 2, 200, 100, 50);
        ColorJitter.Saturation(colour, 0); // all the way to grey: (200·4899 + 100·9617 + 50·1868 + 8192) >> 14 = 124
        Assert.All(colour.Pixels, v => Assert.Equal(124, v));
        var bright = Solid(2, 2, 255, 101, 3);
        ColorJitter.Brightness(bright, 0.5); // truncated: 127, 50, 1
        Assert.Equal([127, 50, 1], bright.Pixels[..3]);
        var flat = Solid(2, 2, 90, 90, 90);
        ColorJitter.Contrast(flat, 0.75); // every pixel at the mean stays there (0.75: exact in binary, no truncation edge)
        Assert.All(flat.Pixels, v => Assert.Equal(90, v));
    }

    [Fact]
    public void ProbabilityZeroLeavesTheImageAndMaskAlone()
    {
        var image = Pattern(11, 7);
        var mask = Box(11, 7, 1, 1, 3, 3);
        for (var position = 0; position < 8; position++)
        {
            var (outImage, outMask) = Augmenter.Apply(image.Clone(), mask.Clone(), new AugmentRandom(9, 1, position), AugmentOptions.None);
            Assert.Equal(image.Pixels, outImage.Pixels);
            Assert.Equal(mask.Pixels, outMask.Pixels);
        }
    }

    [Fact]
    public void DefaultAugmentationsChangeMostImagesAndAreAPureFunctionOfTheKeys()
    {
        var image = Pattern(16, 12);
        var mask = Box(16, 12, 2, 2, 4, 3);
        var changed = 0;
        for (var position = 0; position < 16; position++)
        {
            var (a, am) = Augmenter.Apply(image.Clone(), mask.Clone(), new AugmentRandom(9, 1, position), AugmentOptions.Default);
            var (b, bm) = Augmenter.Apply(image.Clone(), mask.Clone(), new AugmentRandom(9, 1, position), AugmentOptions.Default);
            Assert.Equal(a.Pixels, b.Pixels);
            Assert.Equal(am.Pixels, bm.Pixels);
            if (!a.Pixels.AsSpan().SequenceEqual(image.Pixels)) changed++;
        }
        // Five transforms at p = 0.5 each: an image passes untouched with probability ~1/32 (plus rot90 k = 0).
        Assert.InRange(changed, 12, 16);
    }
}
