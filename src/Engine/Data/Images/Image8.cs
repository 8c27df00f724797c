namespace BayesPfl.Engine.Data.Images;

/// <summary>
/// An 8-bit image in row-major HWC layout: 3 channels (RGB) or 1 channel (grey, PIL mode 'L').
/// <paramref name="Source"/> names where it came from, for error messages.
/// </summary>
public sealed record Image8(int Width, int Height, int Channels, byte[] Pixels, string Source)
{
    public static Image8 Create(int width, int height, int channels, string source)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"{source}: image size {width}x{height} is empty");
        if (channels is not (1 or 3)) throw new ArgumentException($"{source}: {channels} channels; only 1 (grey) or 3 (RGB) are supported");
        return new Image8(width, height, channels, new byte[checked(width * height * channels)], source);
    }

    public byte this[int y, int x, int c] => Pixels[(y * Width + x) * Channels + c];
}
