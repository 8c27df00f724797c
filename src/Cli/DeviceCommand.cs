using System.CommandLine;
using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;
using BayesPfl.Host;
using Spectre.Console;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl device`: what CUDA pieces this machine has (driver, GPU, NVRTC, cuBLAS) and one op, Linear, run in
/// both precision modes (fp32 weights through cublasSgemm; bf16 weights through the cast kernel and
/// cublasGemmStridedBatchedEx) on the CPU reference and, when there is a GPU, on the CUDA backend, with the
/// largest difference between them.
/// Exit code 0 when everything present works, 1 when something failed or the backends disagree.
/// </summary>
internal static class DeviceCommand
{
    // Linear y[M,N] = x[M,K] w[N,K]^T + b[N] at a size that is cheap everywhere but not a multiple of 32 or 64 in K.
    private const int M = 64, K = 96, N = 128;

    // GEMM over K = 96 products of inputs in [-1, 1): the backends differ only in summation order, an error of a
    // few ulps of the ~10-magnitude sums (~1e-5); 1e-3 leaves margin and still catches any real bug. It holds for
    // bf16 too: both backends round x and w to the same bf16 values and accumulate in at least fp32.
    private const float Tolerance = 1e-3f;

    public static Command Create()
    {
        var index = new Option<int>("--index") { Description = "CUDA device ordinal", DefaultValueFactory = _ => 0 };
        var command = new Command("device", "Show the CUDA device, driver, NVRTC and cuBLAS, and check one op against the CPU") { index };
        command.SetAction(result => Run(result.GetValue(index)));
        return command;
    }

    private static int Run(int ordinal)
    {
        var table = new Table().AddColumns("component", "status");
        table.AddRow("driver", Cuda.DriverLibraryPath is { } lib ? Markup.Escape($"{lib}, CUDA {Cuda.DriverVersion}") : "[red]missing[/]");
        table.AddRow("device", Cuda.IsAvailable
            ? Markup.Escape(ordinal < Cuda.DeviceCount ? Cuda.Device(ordinal).ToString() : $"no device {ordinal} ({Cuda.DeviceCount} present)")
            : $"[yellow]none[/]: {Markup.Escape(Cuda.UnavailableReason)}");
        table.AddRow("NVRTC", Nvrtc.IsAvailable ? Markup.Escape($"{Nvrtc.LibraryPath}, version {Nvrtc.Version}") : $"[yellow]missing[/]: {Markup.Escape(Nvrtc.UnavailableReason)}");
        table.AddRow("cuBLAS", Cublas.IsAvailable ? Markup.Escape(Cublas.LibraryPath ?? "") : $"[yellow]missing[/]: {Markup.Escape(Cublas.UnavailableReason)}");
        AnsiConsole.Write(table);

        var inputs = Inputs();
        DType[] modes = [DType.F32, DType.BF16];
        var cpu = modes.Select(mode => TryLinear("cpu", () => new CpuBackend(), inputs, mode)).ToArray();
        if (!Cuda.IsAvailable)
        {
            AnsiConsole.MarkupLine("[grey]no GPU: only the CPU backend was run[/]");
            return cpu.Any(r => r is null) ? 1 : 0;
        }
        using var gpu = new CudaGpu(EngineKernels.Sources, ordinal);
        var ok = TryPreload(gpu);
        for (var i = 0; i < modes.Length; i++)
        {
            var cuda = TryLinear("cuda", () => new CudaBackend(gpu), inputs, modes[i]);
            if (cpu[i] is not { } c || cuda is null) { ok = false; continue; }
            var maxDiff = c.Zip(cuda, (a, b) => Math.Abs(a - b)).Max();
            ok &= maxDiff <= Tolerance;
            AnsiConsole.MarkupLine($"Linear {Mode(modes[i])} {M}x{K} · {N}x{K}ᵀ + bias: max |cpu - cuda| = {maxDiff:E2} " +
                                   (maxDiff <= Tolerance ? "[green]ok[/]" : $"[red]above {Tolerance:E0}[/]"));
        }
        return ok ? 0 : 1;
    }

    private static string Mode(DType weights) => weights == DType.BF16 ? "bf16" : "fp32";

    private static float[][] Inputs()
    {
        var rng = new Random(1234);
        float[] Fill(int n) => Enumerable.Range(0, n).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        return [Fill(M * K), Fill(N * K), Fill(N)];
    }

    /// <summary>Runs Linear with weights of the given type on a backend; null (with the reason printed) when it cannot.</summary>
    private static float[]? TryLinear(string name, Func<IBackend> create, float[][] inputs, DType weights)
    {
        name = $"{name} {Mode(weights)}";
        try
        {
            using var backend = create();
            using var x = backend.Allocate(new Shape(M, K), "x");
            using var w = backend.Allocate(new Shape(N, K), "w", weights);
            using var b = backend.Allocate(new Shape(N), "bias");
            using var y = backend.Allocate(new Shape(M, N), "y");
            backend.Upload(x, inputs[0]);
            backend.Upload(w, inputs[1]);
            backend.Upload(b, inputs[2]);
            // The first run pays for JIT and, on the GPU, NVRTC compile and module load; the second is timed.
            backend.Linear(y, x, w, b);
            var ms = Time(backend, () => backend.Linear(y, x, w, b));
            var result = new float[M * N];
            backend.Download(y, result);
            AnsiConsole.MarkupLine($"{name}: Linear ran in {ms:F3} ms");
            return result;
        }
        catch (NotImplementedException)
        {
            AnsiConsole.MarkupLine($"[yellow]{name}: Linear is not implemented on this backend yet[/]");
            return null;
        }
        catch (Exception e) when (e is CudaException or KernelCompileException or CudaUnavailableException)
        {
            AnsiConsole.MarkupLine($"[red]{name}: Linear failed[/]: {Markup.Escape(e.Message)}");
            return null;
        }
    }

    /// <summary>Compiles (or reads from the kernel cache) and loads every engine kernel for this device.</summary>
    private static bool TryPreload(CudaGpu gpu)
    {
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            gpu.Preload();
            AnsiConsole.MarkupLine(Markup.Escape($"kernels: {gpu.Sources.Kernels.Count} from {gpu.Sources.KernelFiles.Count()} files loaded for sm_{gpu.Device.Arch} " +
                                                 $"in {clock.Elapsed.TotalSeconds:F1} s (cache {gpu.Compiler.CacheDirectory ?? "off"})"));
            return true;
        }
        catch (Exception e) when (e is CudaException or KernelCompileException or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]kernels failed to load[/]: {Markup.Escape(e.Message)}");
            return false;
        }
    }

    /// <summary>GPU time from events on the CUDA backend, wall time elsewhere.</summary>
    private static double Time(IBackend backend, Action op)
    {
        if (backend is CudaBackend { Gpu: CudaGpu gpu }) return gpu.TimeMilliseconds(op);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        op();
        backend.Synchronize();
        return clock.Elapsed.TotalMilliseconds;
    }
}
