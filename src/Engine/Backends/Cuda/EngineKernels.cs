using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

/// <summary>The kernel sources of src/Kernels, embedded in this assembly as resources "kernels/NAME".</summary>
public static class EngineKernels
{
    private static readonly Lazy<KernelSources> Cached = new(Load);

    public static KernelSources Sources => Cached.Value;

    private static KernelSources Load()
    {
        var asm = typeof(EngineKernels).Assembly;
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var res in asm.GetManifestResourceNames().Where(r => r.StartsWith("kernels/", StringComparison.Ordinal)))
        {
            using var s = asm.GetManifestResourceStream(res) ?? throw new InvalidOperationException($"missing resource {res}");
            using var r = new StreamReader(s);
            files[res["kernels/".Length..]] = r.ReadToEnd();
        }
        return new KernelSources(files);
    }
}
