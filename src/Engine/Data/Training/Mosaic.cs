using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>
/// The APRIL-GAN mosaic of spec 9.6: four images of one category pasted as a 2x2 grid (tiles in reading order:
/// top-left, top-right, bottom-left, bottom-right) with their masks pasted alike; the result counts as anomalous.
/// Tiles take the first image's size; the reference pastes without resizing (MVTec's categories are one size
/// each), a tile of another size is resized to fit (image bicubic as PIL, mask nearest) so the grid stays whole.
/// </summary>
public static class Mosaic
{
    public static (Image8 Image, Image8 Mask) Compose(IReadOnlyList<(Image8 Image, Image8 Mask)> tiles)
    {
        if (tiles.Count != 4) throw new ArgumentException($"a mosaic needs 4 tiles, got {tiles.Count}", nameof(tiles));
        int w = tiles[0].Image.Width, h = tiles[0].Image.Height;
        var image = Image8.Create(2 * w, 2 * h, 3, "mosaic of " + string.Join(", ", tiles.Select(t => t.Image.Source)));
        var mask = Image8.Create(2 * w, 2 * h, 1, image.Source);
        for (var i = 0; i < 4; i++)
        {
            var tile = tiles[i].Image.Width == w && tiles[i].Image.Height == h ? tiles[i].Image : PilResample.Resize(tiles[i].Image, w, h, PilFilter.Bicubic);
            Paste(tile, image, (i % 2) * w, (i / 2) * h);
            Paste(MaskOps.Fit(tiles[i].Mask, w, h), mask, (i % 2) * w, (i / 2) * h);
        }
        return (image, mask);
    }

    private static void Paste(Image8 tile, Image8 dst, int left, int top)
    {
        var row = tile.Width * tile.Channels;
        for (var y = 0; y < tile.Height; y++)
            Array.Copy(tile.Pixels, y * row, dst.Pixels, ((top + y) * dst.Width + left) * dst.Channels, row);
    }
}
