using System.Diagnostics;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Native;

/// <summary>
/// libbayespfl.so and the bayespfl_detect example, built once per test process: `dotnet publish src/Native` (NativeAOT,
/// about a minute on two cores) into a scratch folder, then the example compiled with the system C compiler against
/// the header, warnings as errors. A failure is cached and fails every native test with the build's output.
/// </summary>
internal static class NativeBuild
{
    private static readonly Lazy<Built> Instance = new(Build);

    public sealed record Built(string LibDir, string Library, string Example, TimeSpan PublishTime);

    public static Built Get() => Instance.Value;

    public static string IncludeDir => Repo.Path("src", "Native", "include");

    /// <summary>Flags every C file in these tests is compiled with: the header must stay warning-free C99.</summary>
    public static readonly string[] StrictC99 = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"];

    private static Built Build()
    {
        var dir = Repo.TempDir("native");
        var clock = Stopwatch.StartNew();
        Run(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            ["publish", Repo.Path("src", "Native", "BayesPfl.Native.csproj"), "-c", "Release", "-nologo", "-o", dir], TimeSpan.FromMinutes(10));
        var publishTime = clock.Elapsed;
        var library = Path.Combine(dir, "libbayespfl.so");
        if (!File.Exists(library)) throw new InvalidOperationException($"dotnet publish src/Native wrote no {library}");
        var example = Path.Combine(dir, "bayespfl_detect");
        CompileC(Repo.Path("examples", "c", "bayespfl_detect.c"), example, dir);
        return new Built(dir, library, example, publishTime);
    }

    /// <summary>Compiles and links one C file against the header and the library (found at run time through its rpath).</summary>
    public static void CompileC(string source, string output, string libDir) =>
        Run("cc", [.. StrictC99, "-I", IncludeDir, source, "-o", output, "-L", libDir, "-lbayespfl", $"-Wl,-rpath,{libDir}"],
            TimeSpan.FromMinutes(2));

    /// <summary>Runs a build step; a non-zero exit throws with the step's output.</summary>
    private static void Run(string file, string[] args, TimeSpan timeout)
    {
        var (exit, stdout, stderr) = ChildProcess.Run(file, args, timeout);
        if (exit != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {exit}:\n{stdout}\n{stderr}");
    }
}

/// <summary>A child process with its output captured (the C example, the compiler, dotnet publish).</summary>
internal static class ChildProcess
{
    public static (int Exit, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran longer than {timeout}");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
