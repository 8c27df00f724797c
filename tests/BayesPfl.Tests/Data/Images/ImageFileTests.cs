using System.Buffers.Binary;
using System.Text;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Tests.Infra;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace BayesPfl.Tests.Data.Images;

/// <summary>Broken, hostile and lossy inputs: every failure is an exception that names the file, and a
/// lying header is refused before anything of its claimed size is allocated.</summary>
public class ImageFileTests(ITestOutputHelper log)
{
    private readonly string dir = Repo.TempDir("imgfile");

    [Fact]
    public void EmptyFileIsRefusedByName() => AssertRefused(Write("empty.png", []), "empty");

    [Fact]
    public void MissingFileIsRefusedByName()
    {
        var path = Path.Combine(dir, "nope.png");
        var e = Assert.Throws<FileNotFoundException>(() => ImageFile.LoadRgb(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TextFileIsRefusedByName() => AssertRefused(Write("notes.png", Encoding.UTF8.GetBytes("this is not an image\n")), "not an image");

    [Theory]
    [InlineData("rgb", "cut.png")]
    [InlineData("rgb", "cut.jpg")]
    [InlineData("rgb", "cut.bmp")]
    [InlineData("rgb", "cut.tiff")]
    public void TruncatedFileIsRefusedByName(string kind, string name)
    {
        var full = File.ReadAllBytes(TestImages.Save(dir, "full" + Path.GetExtension(name), 120, 90, kind));
        AssertRefused(Write(name, full[..(full.Length / 2)]), null);
    }

    [Fact]
    public void JpegTruncationIsFoundBehindAThumbnailAndTrailingDataIsAccepted()
    {
        var jpeg = File.ReadAllBytes(TestImages.Save(dir, "base.jpg", 120, 90, "smooth"));
        var thumb = File.ReadAllBytes(TestImages.Save(dir, "thumb.jpg", 8, 8, "smooth"));
        // APP1 segment holding a whole JPEG (as an EXIF thumbnail does), inserted after SOI.
        var app1 = new byte[4 + thumb.Length];
        app1[0] = 0xFF;
        app1[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(app1.AsSpan(2), (ushort)(2 + thumb.Length));
        thumb.CopyTo(app1, 4);
        byte[] withThumb = [.. jpeg[..2], .. app1, .. jpeg[2..]];
        AssertRefused(Write("thumb_cut.jpg", withThumb[..(withThumb.Length - 200)]), "truncated");

        var expected = ImageFile.LoadRgb(Write("thumb_ok.jpg", withThumb)).Pixels;
        byte[] trailing = [.. withThumb, .. Enumerable.Range(0, 10_000).Select(k => (byte)k)];
        Assert.Equal(expected, ImageFile.LoadRgb(Write("trailing.jpg", trailing)).Pixels);
    }

    [Theory]
    [InlineData(100_000, 100_000)] // 10 Gpx: would be 30 GB of RGB
    [InlineData(40_000, 10)]       // one side over the limit
    [InlineData(20_000, 20_000)]   // 400 Mpx, sides allowed, area not
    [InlineData(0, 0)]
    [InlineData(0, 7)]
    public void AbsurdHeaderIsRefusedWithoutAllocatingIt(int width, int height)
    {
        var path = Write($"huge_{width}x{height}.png", PngWithHeader(width, height));
        var before = GC.GetTotalAllocatedBytes(precise: true);
        AssertRefused(path, null);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        // Header parsing and the exception need kilobytes; anything near the claimed size means it decoded.
        Assert.True(allocated < 16 << 20, $"refusing {path} allocated {allocated >> 20} MiB");
    }

    /// <summary>
    /// ImageSharp is not libjpeg: its IDCT rounds slightly differently (4:4:4 files, which need no chroma
    /// up-sampling: measured max 3, mean 0.02-0.05 grey levels) and its 4:2:0 chroma up-sampling differs
    /// from libjpeg's "fancy" triangle filter (measured max 8, mean 1.3 on smooth content; max 104, mean 9.9
    /// on pixel noise, the worst case). After the bicubic shrink to 518 px of a VisA-sized photo the mean
    /// drops (measured in the log). Bounds are the measurements plus margin: a wrong colour matrix or a
    /// shifted block would exceed them by far. This is the one place the input path is not bit-exact with PIL.
    /// </summary>
    [Fact]
    public void JpegDecodingIsCloseToPil()
    {
        (string Kind, string Variant, int W, int H, int MaxLevels, double MaxMean)[] cases =
        [
            ("smooth", "", 300, 200, 12, 2.0), ("smooth", "_444", 300, 200, 4, 0.1),
            ("rgb", "", 300, 200, 128, 15.0), ("rgb", "_444", 300, 200, 4, 0.1), ("smooth", "_visa", 1500, 1000, 12, 2.0),
        ];
        var paths = cases.Select(c => TestImages.Save(dir, c.Kind + c.Variant + ".jpg", c.W, c.H, c.Kind)).ToArray();
        using var pil = PilResizeTests.RunOracle(dir, paths.Select(p => new object[] { p, 518, 518 }), []);
        for (var i = 0; i < cases.Length; i++)
        {
            var (kind, variant, _, _, maxLevels, maxMean) = cases[i];
            var ours = ImageFile.LoadRgb(paths[i]);
            var (differ, max, mean) = Stats(ours.Pixels, pil.ReadBytes($"decode.{i}"));
            var (rDiffer, rMax, rMean) = Stats(ClipPreprocess.ResizeImage(ours).Pixels, pil.ReadBytes($"rgb.{i}"));
            var summary = $"JPEG {kind}{variant} {ours.Width}x{ours.Height}: decode differs from PIL/libjpeg in {differ} of {ours.Pixels.Length} bytes (max {max}, mean {mean:F3}); after resize to 518: {rDiffer} bytes (max {rMax}, mean {rMean:F3})";
            log.WriteLine(summary);
            Assert.True(max <= maxLevels && mean <= maxMean, summary);
        }
    }

    private static (int Differ, int Max, double Mean) Stats(byte[] ours, byte[] theirs)
    {
        var (differ, max) = PilResizeTests.Diff(ours, theirs);
        return (differ, max, ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Average());
    }

    [Fact]
    public void SixteenBitGreyKeepsTheHighByte()
    {
        var path = Path.Combine(dir, "g16.png");
        using (var img = new Image<L16>(3, 1))
        {
            img[0, 0] = new(0x0000);
            img[1, 0] = new(0x12FF);
            img[2, 0] = new(0xFF00);
            img.Save(path);
        }
        // PIL would clip the 16-bit value to 255 (white); the high byte keeps the image usable (see ImageFile).
        Assert.Equal([0, 0, 0, 0x12, 0x12, 0x12, 0xFF, 0xFF, 0xFF], ImageFile.LoadRgb(path).Pixels);
    }

    [Fact]
    public void GrayMaskUsesPilLuma()
    {
        var rgb = new Image8(2, 1, 3, [255, 0, 0, 10, 200, 30], "m");
        // PIL: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16.
        Assert.Equal([76, 124], ImageFile.ToGray(rgb).Pixels); // as PIL 9.4 gives
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void AssertRefused(string path, string? phrase)
    {
        var e = Assert.ThrowsAny<InvalidDataException>(() => ImageFile.LoadRgb(path));
        Assert.Contains(path, e.Message);
        if (phrase is not null) Assert.Contains(phrase, e.Message);
    }

    /// <summary>A syntactically valid PNG (correct CRCs) whose IHDR claims the given size, with a tiny IDAT.</summary>
    private static byte[] PngWithHeader(int width, int height)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type RGB
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var buf = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(buf, data.Length);
        Encoding.ASCII.GetBytes(type, buf.AsSpan(4));
        data.CopyTo(buf, 8);
        BinaryPrimitives.WriteUInt32BigEndian(buf.AsSpan(8 + data.Length), Crc32(buf.AsSpan(4, 4 + data.Length)));
        s.Write(buf);
    }

    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
