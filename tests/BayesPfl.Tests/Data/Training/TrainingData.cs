using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Data.Synthetic;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Data.Training;

/// <summary>Small synthetic training sets (the project's generator, MVTec layout) and images for the training-data tests.</summary>
internal static class TrainingData
{
    /// <summary>Group A, one image per folder: 4 categories x (1 normal + 5 anomalous) test images of 32 px.</summary>
    public static string Generate(int perCategory = 1)
    {
        var root = Path.Combine(Repo.TempDir("training"), "data");
        SyntheticDataset.Generate(root, new SyntheticOptions { Seed = 5, Size = 32, PerCategory = perCategory, Groups = ["A"] });
        return root;
    }

    private static readonly Lazy<string> SharedRoot = new(() => Generate());

    /// <summary>One generated tree for the tests that only read it.</summary>
    public static string Shared => SharedRoot.Value;

    public static TrainingSet Open(string root, TrainingSetOptions? options = null, MissingMaskPolicy readerPolicy = MissingMaskPolicy.Error) =>
        TrainingSet.Open(DatasetReader.Open(root, options: new DatasetOptions { MissingMask = readerPolicy }), options);

    /// <summary>Batches of 5 at 28 px: 24 images give 4 full batches and a last one of 4.</summary>
    public static TrainingLoaderOptions Small => new() { BatchSize = 5, ImageSize = 28, Seed = 11, Workers = 2, Prefetch = 1 };

    /// <summary>An RGB image whose every byte is a function of its position, so that any misplacement shows.</summary>
    public static Image8 Pattern(int width, int height)
    {
        var image = Image8.Create(width, height, 3, "pattern");
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (byte)(i * 37 % 251);
        return image;
    }

    public static Image8 Solid(int width, int height, byte r, byte g, byte b)
    {
        var image = Image8.Create(width, height, 3, "solid");
        for (var i = 0; i < image.Pixels.Length; i += 3) (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]) = (r, g, b);
        return image;
    }

    /// <summary>A 0/255 mask with one rectangle set, away from the centre so that rotations move it.</summary>
    public static Image8 Box(int width, int height, int left, int top, int boxWidth, int boxHeight)
    {
        var mask = Image8.Create(width, height, 1, "box");
        for (var y = top; y < top + boxHeight; y++)
            for (var x = left; x < left + boxWidth; x++) mask.Pixels[y * width + x] = 255;
        return mask;
    }

    /// <summary>The mask as an RGB image (255 inside, 0 outside), so that image and mask can be compared after geometry.</summary>
    public static Image8 AsRgb(Image8 mask)
    {
        var rgb = Image8.Create(mask.Width, mask.Height, 3, "mask as rgb");
        for (var i = 0; i < mask.Pixels.Length; i++) rgb.Pixels[3 * i] = rgb.Pixels[3 * i + 1] = rgb.Pixels[3 * i + 2] = mask.Pixels[i];
        return rgb;
    }
}
