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
    /// A complete JPEG ends with the EOI marker FF D9, possibly followed by some padding. Entropy-coded data
    /// cannot contain FF D9 (FF is always followed by 00 or a restart marker there), so a file cut inside
    /// the scan has no EOI in its tail.
    /// </summary>
    private static void CheckJpeg(string path)
    {
        using var f = File.OpenRead(path);
        var n = (int)Math.Min(f.Length, 4096);
        var tail = new byte[n];
        f.Seek(-n, SeekOrigin.End);
        f.ReadExactly(tail);
        for (var i = n - 2; i >= 0; i--)
            if (tail[i] == 0xFF && tail[i + 1] == 0xD9) return;
        throw new InvalidDataException($"{path}: JPEG file is truncated (no end-of-image marker)");
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
