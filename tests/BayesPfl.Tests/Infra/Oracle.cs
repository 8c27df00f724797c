using System.Diagnostics;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Tests.Infra;

/// <summary>
/// Runs a PyTorch oracle script from tests/reference with Debian's python3 (/usr/bin/python3, where
/// python3-torch lives) and opens the safetensors file it writes. Each run gets a fresh random seed, printed
/// in failure messages so that a failing case can be replayed with --seed.
/// </summary>
public static class Oracle
{
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
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"oracle {script} --seed {seed} {string.Join(' ', args)} failed (exit {p.ExitCode}):\n{stdout.Result}\n{stderr}");
        return SafeTensorsFile.Open(outFile);
    }
}
