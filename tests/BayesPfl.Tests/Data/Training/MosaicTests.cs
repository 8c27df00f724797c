using BayesPfl.Engine.Data.Training;
using Xunit;
using static BayesPfl.Tests.Data.Training.TrainingData;

namespace BayesPfl.Tests.Data.Training;

public class MosaicTests
{
    [Fact]
    public void TilesGoToTheQuadrantsInReadingOrderWithTheirMasks()
    {
        var tiles = new[] { (byte)10, (byte)60, (byte)110, (byte)160 }
            .Select((v, i) => (Solid(4, 3, v, (byte)(v + 1), (byte)(v + 2)), Box(4, 3, i, 0, 1, 1))).ToList();
        var (image, mask) = Mosaic.Compose(tiles);
        Assert.Equal((8, 6, 8, 6), (image.Width, image.Height, mask.Width, mask.Height));
        for (var y = 0; y < 6; y++)
            for (var x = 0; x < 8; x++)
            {
                var tile = (y / 3) * 2 + x / 4;
                Assert.Equal(tiles[tile].Item1.Pixels[..3], image.Pixels.AsSpan((y * 8 + x) * 3, 3).ToArray());
                // Tile t's mask has its one set pixel in row 0, column t of the tile.
                Assert.Equal(y % 3 == 0 && x % 4 == tile ? 255 : 0, mask.Pixels[y * 8 + x]);
            }
    }

    [Fact]
    public void TilesOfAnotherSizeAreResizedToTheFirst()
    {
        var tiles = new[] { (Solid(4, 4, 1, 2, 3), Box(4, 4, 0, 0, 4, 4)), (Solid(8, 6, 9, 9, 9), Box(8, 6, 0, 0, 8, 6)),
                            (Solid(4, 4, 5, 5, 5), Box(4, 4, 0, 0, 1, 1)), (Solid(2, 2, 7, 7, 7), Box(2, 2, 0, 0, 0, 0)) };
        var (image, mask) = Mosaic.Compose(tiles);
        Assert.Equal((8, 8), (image.Width, image.Height));
        Assert.Equal([9, 9, 9], image.Pixels.AsSpan((1 * 8 + 5) * 3, 3).ToArray());
        Assert.Equal([7, 7, 7], image.Pixels.AsSpan((7 * 8 + 7) * 3, 3).ToArray());
        Assert.Equal(16 + 16 + 1, mask.Pixels.Count(v => v == 255));
    }

    [Fact]
    public void ComposeRefusesAnythingButFourTiles() =>
        Assert.Contains("4 tiles", Assert.Throws<ArgumentException>(() => Mosaic.Compose([(Solid(2, 2, 0, 0, 0), Box(2, 2, 0, 0, 0, 0))])).Message);
}
