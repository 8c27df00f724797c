namespace BayesPfl.Engine.Data.Images;

/// <summary>
/// The Bayes-PFL input transform (spec §2): PIL bicubic resize of the RGB image to S x S (aspect ratio
/// ignored), /255, CLIP mean/std normalisation, CHW float. Masks: PIL bilinear resize of the 'L' image,
/// /255, then > 0.5 -> 1 else 0.
/// </summary>
public static class ClipPreprocess
{
    public const int DefaultSize = 518;

    /// <summary>CLIP's per-channel (R, G, B) mean, applied after /255.</summary>
    public static ReadOnlySpan<float> Mean => [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>CLIP's per-channel (R, G, B) standard deviation.</summary>
    public static ReadOnlySpan<float> Std => [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Decodes, resizes and normalises one image file into a [3,S,S] float array.</summary>
    public static float[] LoadImage(string path, int size = DefaultSize) => Preprocess(ImageFile.LoadRgb(path), size);

    /// <summary>Resizes and normalises an already decoded RGB image (e.g. pixels handed over through the C API).</summary>
    public static float[] Preprocess(Image8 rgb, int size = DefaultSize)
    {
        var chw = new float[3 * size * size];
        Normalize(ResizeImage(rgb, size), chw);
        return chw;
    }

    /// <summary>Decodes and preprocesses N image files in parallel into one [N,3,S,S] float array.</summary>
    public static float[] LoadBatch(IReadOnlyList<string> paths, int size = DefaultSize)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var plane = 3 * size * size;
        if ((long)paths.Count * plane > Array.MaxLength)
            throw new ArgumentException($"a batch of {paths.Count} images at {size} px does not fit in one array; load it in chunks", nameof(paths));
        var batch = new float[paths.Count * plane];
        Parallel.For(0, paths.Count, i => LoadImageInto(paths[i], size, batch.AsSpan(i * plane, plane)));
        return batch;
    }

    /// <summary>The 8-bit RGB image as CLIP sees it: PIL bicubic resize to S x S.</summary>
    public static Image8 ResizeImage(Image8 rgb, int size = DefaultSize)
    {
        if (rgb.Channels != 3) throw new ArgumentException($"{rgb.Source}: expected RGB, got {rgb.Channels} channel(s)");
        return PilResample.Resize(rgb, size, size, PilFilter.Bicubic);
    }

    /// <summary>
    /// (v/255 - mean[c]) / std[c] into CHW, in float32 and in that order, as torchvision's ToTensor then
    /// Normalize compute it (so the result is bit-identical for the same uint8 input).
    /// </summary>
    public static void Normalize(Image8 rgb, Span<float> chw)
    {
        var plane = rgb.Width * rgb.Height;
        if (rgb.Channels != 3 || chw.Length != 3 * plane)
            throw new ArgumentException($"{rgb.Source}: cannot normalise a {rgb.Width}x{rgb.Height}x{rgb.Channels} image into {chw.Length} floats (need RGB and 3*W*H)");
        for (var c = 0; c < 3; c++)
        {
            float mean = Mean[c], std = Std[c];
            for (var i = 0; i < plane; i++)
                chw[c * plane + i] = (rgb.Pixels[3 * i + c] / 255f - mean) / std;
        }
    }

    /// <summary>A ground-truth mask file as a [S,S] array of 0/1: bilinear 'L' resize, /255, > 0.5.</summary>
    public static float[] LoadMask(string path, int size = DefaultSize) => BinarizeMask(ImageFile.LoadGray(path), size);

    public static float[] BinarizeMask(Image8 gray, int size = DefaultSize)
    {
        if (gray.Channels != 1) throw new ArgumentException($"{gray.Source}: expected a grey mask, got {gray.Channels} channels");
        var resized = PilResample.Resize(gray, size, size, PilFilter.Bilinear);
        var mask = new float[size * size];
        for (var i = 0; i < mask.Length; i++) mask[i] = resized.Pixels[i] / 255f > 0.5f ? 1f : 0f;
        return mask;
    }

    private static void LoadImageInto(string path, int size, Span<float> chw) =>
        Normalize(ResizeImage(ImageFile.LoadRgb(path), size), chw);
}
