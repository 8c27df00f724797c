using System.Buffers.Binary;

namespace BayesPfl.Engine.Data.Images;

/// <summary>
/// Truncation checks for the formats whose ImageSharp decoders silently fill missing data (JPEG, BMP),
/// where PIL raises "image file is truncated". A dataset with half-copied files should fail loudly.
/// </summary>
internal static class ImageIntegrity
{
    /// <summary>Throws when <paramref name="path"/> of format <paramref name="format"/> ends early.</summary>
    public static void CheckComplete(string path, string format)
    {
        if (format.Equals("JPEG", StringComparison.OrdinalIgnoreCase)) CheckJpeg(path);
        else if (format.Equals("BMP", StringComparison.OrdinalIgnoreCase)) CheckBmp(path);
    }

    /// <summary>
    /// Walks the JPEG marker segments from SOI to EOI: segments are skipped by their length (so an EXIF
    /// thumbnail's own EOI inside APP1 is not mistaken for the end), entropy-coded data after each SOS is
    /// scanned up to the next marker (FF followed by anything but 00, FF or a restart marker). Reaching the
    /// end of the file before EOI means it was cut. Data after EOI (e.g. motion-photo videos) is ignored, as
    /// libjpeg ignores it. Malformed structure is left for the decoder to report.
    /// </summary>
    private static void CheckJpeg(string path)
    {
        var b = File.ReadAllBytes(path);
        var n = b.Length;
        if (n < 2 || b[0] != 0xFF || b[1] != 0xD8) return;
        var i = 2;
        while (true)
        {
            if (i >= n) break;
            if (b[i] != 0xFF) return;
            while (i < n && b[i] == 0xFF) i++;
            if (i >= n) break;
            var marker = b[i++];
            if (marker == 0xD9) return;
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue;
            if (i + 2 > n) break;
            i += (b[i] << 8) | b[i + 1];
            if (i > n) break;
            if (marker != 0xDA) continue;
            while (i < n && !(b[i] == 0xFF && i + 1 < n && b[i + 1] is not (0x00 or 0xFF or (>= 0xD0 and <= 0xD7)))) i++;
        }
        throw new InvalidDataException($"{path}: JPEG file is truncated (it ends before the end-of-image marker)");
    }

    /// <summary>An uncompressed BMP (BI_RGB / BI_BITFIELDS) must hold offset + stride * |height| bytes.</summary>
    private static void CheckBmp(string path)
    {
        var length = new FileInfo(path).Length;
        Span<byte> h = stackalloc byte[34];
        using (var f = File.OpenRead(path))
            if (f.ReadAtLeast(h, h.Length, throwOnEndOfStream: false) < h.Length)
                throw new InvalidDataException($"{path}: BMP file is truncated inside its header ({length} bytes)");
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(h[10..]);
        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(h[14..]);
        if (headerSize < 40) return; // OS/2 core header: rare, left to the decoder
        long width = BinaryPrimitives.ReadInt32LittleEndian(h[18..]);
        long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(h[22..]));
        long bpp = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
        var compression = BinaryPrimitives.ReadUInt32LittleEndian(h[30..]);
        if (compression is not (0 or 3)) return; // RLE and embedded PNG/JPEG: sizes are data-dependent
        var need = offset + (width * bpp + 31) / 32 * 4 * height;
        if (length < need)
            throw new InvalidDataException($"{path}: BMP file is truncated ({length} bytes, its header needs {need})");
    }
}
