using System.Security.Cryptography;
using System.Text;

namespace BayesPfl.Host;

/// <summary>A compiled kernel file: a CUBIN for the exact architecture, or PTX the driver finishes at load.</summary>
public sealed record CompiledKernel(string File, string Target, bool IsCubin, byte[] Image, string CacheKey, KernelCacheOutcome Cache, string Log);

/// <summary>
/// Compiles the .cu files of a <see cref="KernelSources"/> set with NVRTC. Every .cuh of the set is offered as
/// an include file under its file name. Options: -std=c++17, the target architecture, then the caller's.
/// Results are cached on disk (BAYESPFL_KERNEL_CACHE, default ~/.cache/bayespfl/kernels), keyed by the
/// SHA-256 of everything that can change the output: the file, every header, the options, NVRTC's version
/// and the target.
/// </summary>
public sealed class KernelCompiler
{
    private readonly KernelSources sources;
    private readonly KernelCache? cache;

    /// <param name="sources">The kernel file set.</param>
    /// <param name="options">Extra NVRTC options, appended after the defaults (e.g. "--use_fast_math").</param>
    /// <param name="cacheDirectory">Cache folder; null for <see cref="DefaultCacheDirectory"/>, "" for no cache.</param>
    public KernelCompiler(KernelSources sources, IEnumerable<string>? options = null, string? cacheDirectory = null)
    {
        this.sources = sources;
        Options = options?.ToArray() ?? [];
        cacheDirectory ??= DefaultCacheDirectory;
        cache = cacheDirectory.Length == 0 ? null : new KernelCache(cacheDirectory);
    }

    public IReadOnlyList<string> Options { get; }

    /// <summary>The cache folder, or null when caching is off.</summary>
    public string? CacheDirectory => cache?.Directory;

    /// <summary>BAYESPFL_KERNEL_CACHE, else ~/.cache/bayespfl/kernels (the temp folder when there is no home, e.g. in services).</summary>
    public static string DefaultCacheDirectory =>
        Environment.GetEnvironmentVariable("BAYESPFL_KERNEL_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? Path.Combine(home, ".cache") : Path.GetTempPath(),
                "bayespfl", "kernels");

    /// <summary>Compiles <paramref name="file"/> (e.g. "layernorm.cu") for compute capability <paramref name="arch"/> (e.g. 90).</summary>
    public CompiledKernel Compile(string file, int arch)
    {
        var source = SourceOf(file);
        if (!Nvrtc.IsAvailable) throw new InvalidOperationException($"cannot compile {file}: NVRTC is unavailable ({Nvrtc.UnavailableReason})");
        var (target, cubin) = Target(arch, Nvrtc.SupportedArchs);
        var key = CacheKey(file, arch);
        var outcome = KernelCacheOutcome.Compiled;
        if (cache is not null)
        {
            if (cache.TryRead(key, out var corrupt) is { } cached) return new CompiledKernel(file, target, cubin, cached, key, KernelCacheOutcome.Hit, "");
            if (corrupt) outcome = KernelCacheOutcome.RecompiledCorrupt;
        }
        var headers = sources.Headers.Select(h => KeyValuePair.Create(h, sources.Files[h])).ToArray();
        if (!Nvrtc.TryCompile(file, source, headers, AllOptions(target), cubin, out var image, out var status, out var log))
            throw new KernelCompileException(file, target, status, log);
        cache?.Write(key, image);
        return new CompiledKernel(file, target, cubin, image, key, outcome, log);
    }

    /// <summary>Compiles every kernel file for every architecture in <paramref name="archs"/>.</summary>
    public IReadOnlyList<CompiledKernel> CompileAll(IEnumerable<int> archs) =>
        archs.SelectMany(arch => sources.KernelFiles.Select(file => Compile(file, arch))).ToArray();

    /// <summary>The cache key of <paramref name="file"/> for <paramref name="arch"/> under this compiler's options.</summary>
    public string CacheKey(string file, int arch)
    {
        var (target, cubin) = Target(arch, Nvrtc.SupportedArchs);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        // Every field is length-prefixed, so no two different field lists hash the same bytes.
        void Field(string tag, string value)
        {
            foreach (var part in (ReadOnlySpan<string>)[tag, value])
            {
                var bytes = Encoding.UTF8.GetBytes(part);
                hash.AppendData(BitConverter.GetBytes(bytes.Length));
                hash.AppendData(bytes);
            }
        }
        Field("format", "bayespfl-kernel-cache-1");
        Field("file", file);
        Field("source", SourceOf(file));
        foreach (var h in sources.Headers)
        {
            Field("header", h);
            Field("text", sources.Files[h]);
        }
        foreach (var o in AllOptions(target)) Field("option", o);
        Field("nvrtc", Nvrtc.Version.ToString());
        Field("output", cubin ? "cubin" : "ptx");
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// What to ask NVRTC for: a CUBIN when it knows the architecture (no JIT at load, and ptxas runs now, so
    /// CI sees its errors too); otherwise PTX for the newest architecture it knows below it, which the
    /// driver compiles for the device when the module is loaded.
    /// </summary>
    internal static (string Target, bool Cubin) Target(int arch, IReadOnlyList<int> supported)
    {
        if (supported.Contains(arch)) return ($"sm_{arch}", true);
        var below = supported.Where(a => a < arch).DefaultIfEmpty(-1).Max();
        return below > 0
            ? ($"compute_{below}", false)
            : throw new NotSupportedException($"this NVRTC cannot target sm_{arch}; it supports {string.Join(", ", supported.Select(a => $"sm_{a}"))}");
    }

    private string[] AllOptions(string target) => ["-std=c++17", $"--gpu-architecture={target}", .. Options];

    private string SourceOf(string file) =>
        file.EndsWith(".cu", StringComparison.Ordinal) && sources.Files.TryGetValue(file, out var text)
            ? text
            : throw new KeyNotFoundException($"no kernel file '{file}' in the kernel sources ({string.Join(", ", sources.KernelFiles)})");
}
