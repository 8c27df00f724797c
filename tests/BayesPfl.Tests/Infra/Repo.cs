namespace BayesPfl.Tests.Infra;

/// <summary>Paths inside the repository, found by walking up from the test binary to the solution file.</summary>
public static class Repo
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "BayesPfl.Native.sln"))) return dir.FullName;
        throw new InvalidOperationException($"cannot find BayesPfl.Native.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => RootPath.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>A fresh scratch directory under this test process's own temp folder (see <see cref="RunTemp"/>).</summary>
    public static string TempDir(string tag)
    {
        var d = System.IO.Path.Combine(RunTempPath.Value, $"{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>Set to 1 to keep the test scratch folders after the run (debugging a failure).</summary>
    public const string KeepTempVariable = "BAYESPFL_KEEP_TEST_TEMP";

    /// <summary>
    /// The folder all of this process's scratch directories live in: TEMP/bayespfl-tests/run-PID. The oracle dumps and
    /// generated datasets add up to tens of GB over a few runs, so the folder is deleted when the process exits, and
    /// folders left by processes that no longer run (killed runs) are deleted when the next run starts.
    /// </summary>
    public static string RunTemp => RunTempPath.Value;

    private static readonly Lazy<string> RunTempPath = new(() =>
    {
        var parent = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bayespfl-tests");
        Directory.CreateDirectory(parent);
        var keep = Environment.GetEnvironmentVariable(KeepTempVariable) == "1";
        if (!keep)
            foreach (var stale in Directory.GetDirectories(parent, "run-*"))
                if (int.TryParse(System.IO.Path.GetFileName(stale)["run-".Length..], out var pid) && !IsRunning(pid)) TryDelete(stale);
        var root = System.IO.Path.Combine(parent, $"run-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        if (!keep) AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a file still open elsewhere keeps its folder until the next run's sweep.
        }
    }
}
