using System.Security.Cryptography;

namespace BayesPfl.Host;

/// <summary>Whether a compiled kernel came from NVRTC or from the on-disk cache.</summary>
public enum KernelCacheOutcome
{
    /// <summary>Not cached yet: compiled and stored.</summary>
    Compiled,

    /// <summary>Read from the cache.</summary>
    Hit,

    /// <summary>The cache entry failed its checksum: compiled again and the entry replaced.</summary>
    RecompiledCorrupt,
}

/// <summary>
/// Compiled kernel images on disk, one file per key: an 8-byte magic, the SHA-256 of the image, the image.
/// The checksum catches truncated or damaged files (a crash mid-write on a file system without atomic
/// rename, a full disk, a stray edit); such entries are recompiled rather than handed to the driver.
/// Entries are written to a temporary file and renamed, so readers never see a partial file.
/// </summary>
internal sealed class KernelCache(string directory)
{
    private static readonly byte[] Magic = "BPFKERN1"u8.ToArray();
    private const int HeaderBytes = 8 + 32;

    public string Directory { get; } = directory;

    public string PathOf(string key) => Path.Combine(Directory, key + ".kbin");

    /// <summary>The cached image, or null with <paramref name="corrupt"/> telling a damaged entry from a missing one.</summary>
    public byte[]? TryRead(string key, out bool corrupt)
    {
        corrupt = false;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(PathOf(key));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        var image = bytes.AsSpan(Math.Min(HeaderBytes, bytes.Length));
        corrupt = bytes.Length <= HeaderBytes
                  || !bytes.AsSpan(0, 8).SequenceEqual(Magic)
                  || !bytes.AsSpan(8, 32).SequenceEqual(SHA256.HashData(image));
        return corrupt ? null : image.ToArray();
    }

    /// <summary>
    /// Stores an image. A cache that cannot be written (read-only home, full disk) only costs a recompile
    /// next time, so that failure is swallowed here on purpose; everything else propagates.
    /// </summary>
    public void Write(string key, byte[] image)
    {
        var temp = Path.Combine(Directory, $"{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(Magic);
                f.Write(SHA256.HashData(image));
                f.Write(image);
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, PathOf(key), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the temporary name is unique and never read.
            }
        }
    }
}
