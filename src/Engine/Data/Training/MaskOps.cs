using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>Training masks as 8-bit grey images holding only 0 and 255, so that they survive nearest-neighbour
/// geometry unchanged and then go through the mask preprocessing of spec 2 like a ground-truth file.</summary>
public static class MaskOps
{
    /// <summary>The reference binarises ground truth at &gt; 0 when it reads it (before augmentation).</summary>
    public static Image8 Load(string path)
    {
        var gray = ImageFile.LoadGray(path);
        var p = gray.Pixels;
        for (var i = 0; i < p.Length; i++) p[i] = p[i] > 0 ? (byte)255 : (byte)0;
        return gray;
    }

    public static Image8 Empty(int width, int height, string source) => Image8.Create(width, height, 1, source);

    /// <summary>Nearest-neighbour resize (pixel centres) when a mask's size differs from its image's.</summary>
    public static Image8 Fit(Image8 mask, int width, int height)
    {
        if (mask.Width == width && mask.Height == height) return mask;
        var dst = Image8.Create(width, height, 1, mask.Source);
        for (var y = 0; y < height; y++)
        {
            var sy = Math.Min((int)((y + 0.5) * mask.Height / height), mask.Height - 1);
            for (var x = 0; x < width; x++)
                dst.Pixels[y * width + x] = mask.Pixels[sy * mask.Width + Math.Min((int)((x + 0.5) * mask.Width / width), mask.Width - 1)];
        }
        return dst;
    }
}
