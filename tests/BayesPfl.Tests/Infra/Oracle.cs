using System.Collections.Concurrent;
using System.Diagnostics;
using BayesPfl.Engine.Weights;
using Xunit;

namespace BayesPfl.Tests.Infra;

/// <summary>
/// Runs a PyTorch oracle script from tests/reference with Debian's python3 (/usr/bin/python3, where
/// python3-torch lives) and opens the safetensors file it writes. Each run gets a fresh random seed unless the
/// caller fixes one; the command line (with its seed) goes to the test's output and into every TensorAssert
/// failure message of the test that ran it or of the test class whose fixture ran it (<see cref="Replay"/>), so
/// that a failing case can be replayed with --seed.
/// </summary>
public static class Oracle
{
    // Command lines by the unique id of the test (direct runs) or of the test class (class fixtures).
    private static readonly ConcurrentDictionary<string, string> Runs = new();

    /// <summary>" [oracle: SCRIPT --seed N ...]" for the oracle runs behind the current test, or "" if none.</summary>
    public static string Replay()
    {
        var c = TestContext.Current;
        var lines = new[] { c.TestClass?.UniqueID, c.Test?.UniqueID }
            .Select(id => id is not null && Runs.TryGetValue(id, out var line) ? line : null).OfType<string>().ToArray();
        return lines.Length == 0 ? "" : $" [oracle: {string.Join("; ", lines)}]";
    }

    private static void Record(string line)
    {
        var c = TestContext.Current;
        c.TestOutputHelper?.WriteLine("oracle: " + line);
        var id = c.Test?.UniqueID ?? c.TestClass?.UniqueID;
        if (id is not null) Runs.AddOrUpdate(id, line, (_, old) => old + "; " + line);
    }

    /// <summary>
    /// Debian's python3 (where python3-torch lives) unless BAYESPFL_PYTHON names another interpreter, e.g. the
    /// GPU machine's Python with its own PyTorch (bench/gpu-check/run.sh sets it).
    /// </summary>
    public static readonly string Python = Environment.GetEnvironmentVariable("BAYESPFL_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    /// <summary>Runs `python3 tests/reference/SCRIPT --out FILE --seed S ARGS...` and opens FILE.</summary>
    public static SafeTensorsFile Run(string script, params string[] args)
    {
        var seed = Random.Shared.Next(1, int.MaxValue);
        return Run(script, seed, args);
    }

    public static SafeTensorsFile Run(string script, int seed, params string[] args)
    {
        var outFile = System.IO.Path.Combine(Repo.TempDir("oracle"), System.IO.Path.GetFileNameWithoutExtension(script) + ".safetensors");
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repo.Root,
        };
        psi.ArgumentList.Add(Repo.Path("tests", "reference", script));
        psi.ArgumentList.Add("--out");
        psi.ArgumentList.Add(outFile);
        psi.ArgumentList.Add("--seed");
        psi.ArgumentList.Add(seed.ToString());
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {Python}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        var line = $"{script} --seed {seed} {string.Join(' ', args)}".TrimEnd();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"oracle {line} failed (exit {p.ExitCode}):\n{stdout.Result}\n{stderr}");
        Record(line);
        return SafeTensorsFile.Open(outFile);
    }
}
