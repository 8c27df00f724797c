namespace BayesPfl.Engine.Reports;

/// <summary>
/// Writes a file under a temporary name in the same folder and renames it over the target only once it is
/// complete, so that an interrupted run never leaves a truncated file under the final name.
/// </summary>
public static class AtomicFile
{
    /// <summary>Calls <paramref name="write"/> on a temporary path next to <paramref name="path"/>, then renames it.</summary>
    public static void Write(string path, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            write(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, temp => File.WriteAllText(temp, text, new System.Text.UTF8Encoding(false)));
}
