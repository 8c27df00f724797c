using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Host;
using Xunit;

namespace BayesPfl.Tests.Host;

/// <summary>
/// A small kernel file of the tests' own, compiled against the engine's headers: it keeps the compile
/// check meaningful while src/Kernels has few .cu files, exercises common.cuh's reductions and
/// DYNAMIC_SMEM, and gives the real-GPU test something with a known answer to launch.
/// </summary>
internal static class ProbeKernels
{
    public const string File = "probe.cu";

    public const string Source = """
        // probe.cu: test kernels for the host layer. y[i] = a * x[i]; sums[r] = sum over c of x[r, c].
        #include "common.cuh"

        extern "C" __global__ void scale_forward(float* y, const float* x, float a, int n) {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = a * x[i];
        }

        // One block per row; blockDim.x is a multiple of 32; scratch holds one float per warp.
        extern "C" __global__ void rowsum_forward(float* sums, const float* x, int cols) {
            DYNAMIC_SMEM(float, scratch);
            const float* row = x + (long)blockIdx.x * cols;
            float v = 0.0f;
            for (int c = threadIdx.x; c < cols; c += blockDim.x) v += row[c];
            v = block_sum(v, scratch);
            if (threadIdx.x == 0) sums[blockIdx.x] = v;
        }
        """;

    /// <summary>The engine's headers plus probe.cu (and optionally more files, e.g. a broken one).</summary>
    public static KernelSources With(params (string Name, string Text)[] extra)
    {
        var files = EngineKernels.Sources.Headers.ToDictionary(h => h, h => EngineKernels.Sources.Files[h]);
        files[File] = Source;
        foreach (var (name, text) in extra) files[name] = text;
        return new KernelSources(files);
    }

    /// <summary>Fails (never skips) when NVRTC is missing: test.sh always provides it.</summary>
    public static void RequireNvrtc()
    {
        if (!Nvrtc.IsAvailable)
            Assert.Fail($"NVRTC could not be loaded: {Nvrtc.UnavailableReason}. ./test.sh fetches it with tools/fetch-nvrtc.sh into " +
                        ".cache/nvrtc (found automatically afterwards) or point BAYESPFL_NVRTC_DIR at a folder holding libnvrtc.");
    }
}
