using System.Diagnostics;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Host;

/// <summary>
/// `bayespfl device` end to end on a fake libcuda/libcublas (FakeDriver/fake_cuda.c): the resolver's
/// environment overrides, every CUDA binding the verb touches, NVRTC compiling and the fake loading every
/// engine kernel, and Linear in fp32 and bf16 through CudaGpu's cuBLAS calls matching the CPU backend. It runs in a child
/// process because the driver a process loads is fixed for its lifetime, and this one's must stay real.
/// </summary>
public sealed class FakeDriverTests
{
    [Fact]
    public void DeviceVerbRunsLinearThroughCudaGpuOnTheFakeDriver()
    {
        ProbeKernels.RequireNvrtc();
        var dir = Repo.TempDir("fake-driver");
        var lib = Path.Combine(dir, "libfakecuda.so");
        var (gccExit, gccOutput) = Run("gcc", ["-shared", "-fPIC", "-O1", "-o", lib, Repo.Path("tests", "BayesPfl.Tests", "Host", "FakeDriver", "fake_cuda.c")], []);
        Assert.True(gccExit == 0, $"gcc could not build the fake driver:\n{gccOutput}");

        var (exit, output) = Run(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [CliDll(), "device"],
            [("BAYESPFL_LIBCUDA", lib), ("BAYESPFL_LIBCUBLAS", lib), ("BAYESPFL_KERNEL_CACHE", Path.Combine(dir, "kernels"))]);

        Assert.True(exit == 0, $"bayespfl device exited with {exit}:\n{output}");
        Assert.Contains("Fake GPU (sm_90, 139.8 GiB, driver 13.0)", output);
        Assert.Matches(@"kernels: \d+ from \d+ files loaded for sm_90", output);
        Assert.Contains("Linear fp32 64x96 · 128x96ᵀ + bias: max |cpu - cuda|", output);
        // The bf16 row runs the cast kernel and cublasGemmStridedBatchedEx, whose fake rejects any other data or
        // compute type than the bf16 mode's: a wrong enum or argument order in the binding fails here.
        Assert.Contains("Linear bf16 64x96 · 128x96ᵀ + bias: max |cpu - cuda|", output);
        Assert.DoesNotContain("above", output);
    }

    /// <summary>The CLI built next to this test binary: tests/BayesPfl.Tests/bin/CONFIG/TFM → src/Cli/bin/CONFIG/TFM.</summary>
    private static string CliDll()
    {
        var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Repo.Path("src", "Cli", "bin", tfmDir.Parent!.Name, tfmDir.Name, "bayespfl.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; the test project builds it through its project reference");
        return dll;
    }

    private static (int Exit, string Output) Run(string file, string[] args, (string Name, string Value)[] env)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in env) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        // Generous: the child compiles every engine kernel with NVRTC on a possibly busy CI machine.
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out\n{stdout}");
        }
        return (process.ExitCode, stdout + stderr.Result);
    }
}
