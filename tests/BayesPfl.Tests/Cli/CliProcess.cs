using System.Diagnostics;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Cli;

/// <summary>Runs the `bayespfl` command built next to the tests as a child process, as a user would.</summary>
internal static class CliProcess
{
    /// <summary>The CLI built next to this test binary: tests/BayesPfl.Tests/bin/CONFIG/TFM → src/Cli/bin/CONFIG/TFM.</summary>
    private static string Dll()
    {
        var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Repo.Path("src", "Cli", "bin", tfmDir.Parent!.Name, tfmDir.Name, "bayespfl.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; the test project builds it through its project reference");
        return dll;
    }

    // Generous for a shared, busy CI machine; the commands tested take a few seconds.
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    public static (int Exit, string Stdout, string Stderr) Run(params string[] args) => Run(DefaultTimeout, args);

    /// <summary>For the few long commands (the demo's training run), whose time on a loaded machine varies a lot.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Dll());
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"bayespfl {string.Join(' ', args)} timed out:\n{stdout}");
        }
        return (process.ExitCode, stdout, stderr.Result);
    }
}
