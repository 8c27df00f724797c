using System.Text.RegularExpressions;

namespace BayesPfl.Host;

/// <summary>
/// The set of CUDA source files (*.cu plus the *.cuh headers they include) the kernels are built from,
/// and which file defines which extern "C" kernel. The host layer gets them from its caller; it does not
/// know which ops exist.
/// </summary>
public sealed partial class KernelSources
{
    private readonly Dictionary<string, string> files;
    private readonly Dictionary<string, string> fileOfKernel = new(StringComparer.Ordinal);

    public KernelSources(IReadOnlyDictionary<string, string> filesByName)
    {
        files = new Dictionary<string, string>(filesByName, StringComparer.Ordinal);
        foreach (var (name, text) in files)
        {
            if (!name.EndsWith(".cu", StringComparison.Ordinal)) continue;
            foreach (Match m in KernelDeclaration().Matches(text))
            {
                var kernel = m.Groups[1].Value;
                if (!fileOfKernel.TryAdd(kernel, name))
                    throw new InvalidOperationException($"kernel '{kernel}' is defined in both {fileOfKernel[kernel]} and {name}");
            }
        }
    }

    /// <summary>Every file, by name (e.g. "layernorm.cu", "common.cuh").</summary>
    public IReadOnlyDictionary<string, string> Files => files;

    /// <summary>The .cu files that define kernels.</summary>
    public IEnumerable<string> KernelFiles => files.Keys.Where(f => f.EndsWith(".cu", StringComparison.Ordinal)).Order(StringComparer.Ordinal);

    /// <summary>The .cuh headers, offered to NVRTC as include files.</summary>
    public IEnumerable<string> Headers => files.Keys.Where(f => f.EndsWith(".cuh", StringComparison.Ordinal)).Order(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Kernels => fileOfKernel.Keys;

    public string FileOf(string kernel) =>
        fileOfKernel.TryGetValue(kernel, out var f) ? f : throw new KeyNotFoundException($"no kernel named '{kernel}' in the kernel sources");

    /// <summary>Matches `extern "C" __global__ void name(` (launch bounds may sit between).</summary>
    [GeneratedRegex(@"extern\s+""C""\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?void\s+(\w+)\s*\(")]
    private static partial Regex KernelDeclaration();
}
