using System.Reflection;
using System.Runtime.InteropServices;

namespace BayesPfl.Host.Interop;

/// <summary>The NVIDIA libraries the host layer binds to.</summary>
internal enum NvidiaLibrary
{
    Driver,
    Nvrtc,
    Cublas,
}

/// <summary>
/// Finds libcuda, NVRTC and cuBLAS for the [LibraryImport] bindings. The bindings name a logical library
/// ("bayespfl-cuda", ...) and this resolver maps it to a real file, so that several CUDA major versions
/// and the NVRTC copy that test.sh unpacks under .cache/ all work without LD_LIBRARY_PATH. Each library is
/// loaded at most once; the outcome (handle or the list of what was tried) is remembered so that
/// <see cref="Cuda.UnavailableReason"/> can say exactly why a library is missing.
/// </summary>
internal static class NativeLibraries
{
    internal const string Driver = "bayespfl-cuda";
    internal const string Nvrtc = "bayespfl-nvrtc";
    internal const string Cublas = "bayespfl-cublas";

    private static readonly Lazy<LoadOutcome>[] Outcomes =
        [new(() => Load(NvidiaLibrary.Driver)), new(() => Load(NvidiaLibrary.Nvrtc)), new(() => Load(NvidiaLibrary.Cublas))];

    static NativeLibraries() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    /// <summary>Runs the static constructor, which installs the resolver; binding classes call it from theirs.</summary>
    internal static void EnsureResolver()
    {
    }

    /// <summary>Loads <paramref name="lib"/> (once) and says why not when it cannot be loaded.</summary>
    internal static bool TryLoad(NvidiaLibrary lib, out string error)
    {
        var outcome = Outcomes[(int)lib].Value;
        error = outcome.Error;
        return outcome.Handle != 0;
    }

    /// <summary>The file that was loaded for <paramref name="lib"/>, or null.</summary>
    internal static string? LoadedPath(NvidiaLibrary lib) => Outcomes[(int)lib].Value.Path;

    /// <summary>
    /// Where to look for <paramref name="lib"/>, in order. An explicit full path (BAYESPFL_LIBCUDA,
    /// BAYESPFL_LIBNVRTC, BAYESPFL_LIBCUBLAS) or folder (BAYESPFL_NVRTC_DIR) is the only candidate, so a
    /// wrong setting fails loudly instead of silently picking another copy. Otherwise the sonames of the
    /// supported CUDA majors, newest first, through the system loader; then the same names in the CUDA
    /// toolkit folders (<paramref name="toolkitDirs"/>: toolkits installed from NVIDIA's runfile are often
    /// not on the loader path); then, NVRTC only, the copy that tools/fetch-nvrtc.sh put in the repository's
    /// .cache. The driver comes only from the system loader: the toolkit ships a stub libcuda that must not win.
    /// </summary>
    internal static IReadOnlyList<string> Candidates(NvidiaLibrary lib, Func<string, string?> env, IReadOnlyList<string> toolkitDirs, string? repoNvrtcDir)
    {
        string[] InFolders(string[] names, IEnumerable<string> dirs) => [.. names, .. dirs.SelectMany(d => names.Select(n => Path.Combine(d, n)))];
        switch (lib)
        {
            case NvidiaLibrary.Driver:
                return NonEmpty(env("BAYESPFL_LIBCUDA")) is { } cuda ? [cuda] : ["libcuda.so.1"];
            case NvidiaLibrary.Cublas:
                return NonEmpty(env("BAYESPFL_LIBCUBLAS")) is { } cublas ? [cublas] : InFolders(CublasSonames, toolkitDirs);
            default:
                if (NonEmpty(env("BAYESPFL_LIBNVRTC")) is { } nvrtc) return [nvrtc];
                if (NonEmpty(env("BAYESPFL_NVRTC_DIR")) is { } dir) return NvrtcSonames.Select(s => Path.Combine(dir, s)).ToArray();
                return InFolders(NvrtcSonames, repoNvrtcDir is null ? toolkitDirs : [.. toolkitDirs, repoNvrtcDir]);
        }
    }

    private static readonly string[] NvrtcSonames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"];
    private static readonly string[] CublasSonames = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11"];

    /// <summary>The lib64 folders of $CUDA_HOME, $CUDA_PATH and /usr/local/cuda that exist.</summary>
    internal static IReadOnlyList<string> ToolkitDirs(Func<string, string?> env) =>
        new[] { NonEmpty(env("CUDA_HOME")), NonEmpty(env("CUDA_PATH")), "/usr/local/cuda" }
            .OfType<string>()
            .Select(root => Path.Combine(root, "lib64"))
            .Where(Directory.Exists)
            .Distinct(StringComparer.Ordinal)
            .ToArray();

    /// <summary>
    /// NVRTC dlopens libnvrtc-builtins by soname, which the system loader cannot find in a private folder;
    /// loading the builtins from the same folder first makes that dlopen find the copy already in memory.
    /// Bare sonames need nothing: the system loader finds both.
    /// </summary>
    internal static IReadOnlyList<string> BuiltinsToPreload(string nvrtcCandidate)
    {
        var dir = Path.GetDirectoryName(nvrtcCandidate);
        if (string.IsNullOrEmpty(dir) || !File.Exists(nvrtcCandidate)) return [];
        return Directory.GetFiles(dir, "libnvrtc-builtins.so.*").Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>&lt;repo&gt;/.cache/nvrtc/... when this binary runs from inside a checkout where test.sh ran.</summary>
    internal static string? RepoNvrtcDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "BayesPfl.Native.sln"))) continue;
            var lib = Path.Combine(dir.FullName, ".cache", "nvrtc", "root", "usr", "lib", "x86_64-linux-gnu");
            return Directory.Exists(lib) ? lib : null;
        }
        return null;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        var lib = name switch
        {
            Driver => NvidiaLibrary.Driver,
            Nvrtc => NvidiaLibrary.Nvrtc,
            Cublas => NvidiaLibrary.Cublas,
            _ => (NvidiaLibrary?)null,
        };
        if (lib is null) return IntPtr.Zero;
        var outcome = Outcomes[(int)lib.Value].Value;
        // Throwing here (instead of returning zero) keeps the runtime from probing "bayespfl-cuda" itself and
        // replaces its generic message with the list of files we tried.
        return outcome.Handle != 0 ? outcome.Handle : throw new DllNotFoundException(outcome.Error);
    }

    private static LoadOutcome Load(NvidiaLibrary lib)
    {
        var tried = new List<string>();
        Func<string, string?> env = Environment.GetEnvironmentVariable;
        foreach (var candidate in Candidates(lib, env, ToolkitDirs(env), lib == NvidiaLibrary.Nvrtc ? RepoNvrtcDir() : null))
        {
            try
            {
                if (lib == NvidiaLibrary.Nvrtc)
                    foreach (var builtins in BuiltinsToPreload(candidate))
                        NativeLibrary.Load(builtins);
                return new LoadOutcome(NativeLibrary.Load(candidate), candidate, "");
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                tried.Add(LoaderError(candidate, e.Message));
            }
        }
        var display = lib switch { NvidiaLibrary.Driver => "libcuda", NvidiaLibrary.Nvrtc => "NVRTC", _ => "cuBLAS" };
        return new LoadOutcome(0, null, $"cannot load {display}: {string.Join("; ", tried)}");
    }

    /// <summary>
    /// The loader's own words (dlerror, which names the file) without the runtime's generic advice that
    /// precedes them on the first line of the exception message.
    /// </summary>
    internal static string LoaderError(string candidate, string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 1 ? string.Join(" ", lines[1..]) : $"{candidate}: {message}";
    }

    private sealed record LoadOutcome(IntPtr Handle, string? Path, string Error);
}
