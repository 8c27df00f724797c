namespace BayesPfl.Engine.Data.Images;

/// <summary>
/// An 8-bit image in row-major HWC layout: 3 channels (RGB) or 1 channel (grey, PIL mode 'L').
/// <see cref="Source"/> names where it came from, for error messages.
/// </summary>
public sealed class Image8
{
    public int Width { get; }

    public int Height { get; }

    public int Channels { get; }

    /// <summary>Width * Height * Channels bytes, row-major, channels interleaved.</summary>
    public byte[] Pixels { get; }

    public string Source { get; }

    /// <summary>Wraps existing pixels (e.g. handed over through the C API); checks that they fit the shape.</summary>
    public Image8(int width, int height, int channels, byte[] pixels, string source)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width < 1 || height < 1) throw new ArgumentException($"{source}: image size {width}x{height} is empty");
        if (channels is not (1 or 3)) throw new ArgumentException($"{source}: {channels} channels; only 1 (grey) or 3 (RGB) are supported");
        if (pixels.LongLength != (long)width * height * channels)
            throw new ArgumentException($"{source}: {pixels.LongLength} bytes for a {width}x{height}x{channels} image (need {(long)width * height * channels})");
        (Width, Height, Channels, Pixels, Source) = (width, height, channels, pixels, source);
    }

    /// <summary>A zero-filled image.</summary>
    public static Image8 Create(int width, int height, int channels, string source) =>
        new(width, height, channels, new byte[(long)Math.Max(width, 0) * Math.Max(height, 0) * Math.Clamp(channels, 0, 3)], source);

    public Image8 Clone() => new(Width, Height, Channels, (byte[])Pixels.Clone(), Source);
}
