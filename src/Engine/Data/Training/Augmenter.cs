using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>The probabilities and ranges of spec 9.6 (the defaults); set a probability to 0 to switch one off.</summary>
public sealed record AugmentOptions
{
    /// <summary>2x2 mosaic of anomalous images (only where the loader enables it: MVTec-layout training sets).</summary>
    public double Mosaic { get; init; } = 0.4;

    public double Rotate { get; init; } = 0.5;

    public double RotateLimitDegrees { get; init; } = 30;

    public double Rotate90 { get; init; } = 0.5;

    public double BrightnessContrast { get; init; } = 0.5;

    public double BrightnessLimit { get; init; } = 0.2;

    public double ContrastLimit { get; init; } = 0.2;

    public double GaussNoise { get; init; } = 0.5;

    /// <summary>Noise variance range on the 0..255 scale.</summary>
    public double NoiseVarianceMin { get; init; } = 10;

    public double NoiseVarianceMax { get; init; } = 50;

    /// <summary>OneOf{Blur k 3, ColorJitter 0.2 x4, GaussianBlur k 3..7}, each equally likely once chosen.</summary>
    public double OneOf { get; init; } = 0.5;

    public static AugmentOptions Default { get; } = new();

    /// <summary>Every probability 0: images and masks pass unchanged.</summary>
    public static AugmentOptions None { get; } = new() { Mosaic = 0, Rotate = 0, Rotate90 = 0, BrightnessContrast = 0, GaussNoise = 0, OneOf = 0 };
}

/// <summary>
/// The albumentations Compose of spec 9.6 in its order: Rotate, RandomRotate90, RandomBrightnessContrast, GaussNoise,
/// OneOf{Blur, ColorJitter, GaussianBlur}. Geometry moves the image and the mask together; the rest touches only the
/// image. Every draw comes from the slot's <see cref="AugmentRandom"/>, each transform first drawing its coin.
/// The photometric steps work in place: the image passed in may be changed (the loader passes fresh decodes).
/// </summary>
public static class Augmenter
{
    public static (Image8 Image, Image8 Mask) Apply(Image8 image, Image8 mask, AugmentRandom rng, AugmentOptions options)
    {
        if (image.Channels != 3 || mask.Channels != 1 || mask.Width != image.Width || mask.Height != image.Height)
            throw new ArgumentException($"{image.Source}: augmentation needs an RGB image and a grey mask of its size " +
                                        $"(got {image.Width}x{image.Height}x{image.Channels} and {mask.Width}x{mask.Height}x{mask.Channels})");
        if (rng.Chance(options.Rotate))
        {
            var degrees = rng.Uniform(-options.RotateLimitDegrees, options.RotateLimitDegrees);
            (image, mask) = (Geometric.Rotate(image, degrees, nearest: false), Geometric.Rotate(mask, degrees, nearest: true));
        }
        if (rng.Chance(options.Rotate90))
        {
            var k = rng.Int(0, 3);
            (image, mask) = (Geometric.Rotate90(image, k), Geometric.Rotate90(mask, k));
        }
        if (rng.Chance(options.BrightnessContrast))
        {
            var alpha = 1 + rng.Uniform(-options.ContrastLimit, options.ContrastLimit);
            var beta = rng.Uniform(-options.BrightnessLimit, options.BrightnessLimit);
            Photometric.BrightnessContrast(image, alpha, beta);
        }
        if (rng.Chance(options.GaussNoise))
            Photometric.GaussNoise(image, Math.Sqrt(rng.Uniform(options.NoiseVarianceMin, options.NoiseVarianceMax)), rng);
        if (rng.Chance(options.OneOf))
            image = rng.Int(0, 2) switch
            {
                0 => Photometric.BoxBlur(image, 3),
                1 => Jitter(image, rng),
                _ => Photometric.GaussianBlur(image, GaussianKernel(rng)),
            };
        return (image, mask);
    }

    /// <summary>albumentations 1.3.1 GaussianBlur(blur_limit (3, 7)): randrange(3, 8), even sizes bumped to the next
    /// odd one, so 3 has probability 1/5 and 5 and 7 have 2/5 each.</summary>
    private static int GaussianKernel(AugmentRandom rng)
    {
        var k = rng.Int(3, 7);
        return k % 2 == 1 ? k : k + 1;
    }

    private static Image8 Jitter(Image8 image, AugmentRandom rng)
    {
        ColorJitter.Apply(image, rng);
        return image;
    }
}
