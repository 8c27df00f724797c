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

    /// <summary>A fresh scratch directory under the system temp folder.</summary>
    public static string TempDir(string tag)
    {
        var d = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bayespfl-tests", $"{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }
}
