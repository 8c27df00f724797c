using System.Runtime.InteropServices;
using System.Text;
using BayesPfl.Host.Interop;

namespace BayesPfl.Host;

/// <summary>
/// NVRTC, the runtime CUDA C++ compiler. Needs no GPU, so CI compiles every kernel with it. Calls are
/// serialised: older NVRTC releases do not promise that concurrent compilations are safe, and compile time
/// is dominated by the compiler itself, not by waiting.
/// </summary>
public static class Nvrtc
{
    private static readonly Lock Gate = new();
    private static readonly Lazy<Probe> Result = new(ProbeLibrary);

    public static bool IsAvailable => Result.Value.Version is not null;

    /// <summary>Why NVRTC cannot be used ("" when it can).</summary>
    public static string UnavailableReason => Result.Value.Reason;

    /// <summary>NVRTC's own version (major.minor), e.g. 11.8.</summary>
    public static Version Version => Result.Value.Version ?? throw new InvalidOperationException($"NVRTC is unavailable: {UnavailableReason}");

    /// <summary>The library file that was loaded.</summary>
    public static string? LibraryPath => NativeLibraries.LoadedPath(NvidiaLibrary.Nvrtc);

    /// <summary>The real architectures this NVRTC can emit CUBIN for, e.g. [35, ..., 90].</summary>
    public static IReadOnlyList<int> SupportedArchs => Result.Value.Archs;

    /// <summary>Compiles one translation unit; returns false with NVRTC's status and log when it does not compile.</summary>
    internal static unsafe bool TryCompile(string name, string source, IReadOnlyList<KeyValuePair<string, string>> headers,
        IReadOnlyList<string> options, bool cubin, out byte[] image, out string status, out string log)
    {
        using var src = new Utf8Strings([source]);
        using var fileName = new Utf8Strings([name]);
        using var headerTexts = new Utf8Strings(headers.Select(h => h.Value).ToArray());
        using var headerNames = new Utf8Strings(headers.Select(h => h.Key).ToArray());
        using var opts = new Utf8Strings(options.ToArray());
        lock (Gate)
        {
            Status.Check(NvrtcApi.nvrtcCreateProgram(out var raw, src[0], fileName[0], headers.Count, headerTexts.Pointers, headerNames.Pointers));
            using var program = new NvrtcProgramHandle(raw);
            var result = NvrtcApi.nvrtcCompileProgram(program.Value, opts.Count, opts.Pointers);
            log = ProgramLog(program.Value);
            status = Status.Name(result);
            image = [];
            if (result != nvrtcResult.NVRTC_SUCCESS) return false;
            if (cubin)
            {
                Status.Check(NvrtcApi.nvrtcGetCUBINSize(program.Value, out var size));
                image = new byte[size];
                fixed (byte* p = image) Status.Check(NvrtcApi.nvrtcGetCUBIN(program.Value, p));
            }
            else
            {
                // The size includes the terminating NUL, which cuModuleLoadData needs for PTX.
                Status.Check(NvrtcApi.nvrtcGetPTXSize(program.Value, out var size));
                image = new byte[size];
                fixed (byte* p = image) Status.Check(NvrtcApi.nvrtcGetPTX(program.Value, p));
            }
            return true;
        }
    }

    private static unsafe string ProgramLog(IntPtr program)
    {
        Status.Check(NvrtcApi.nvrtcGetProgramLogSize(program, out var size));
        if (size <= 1) return "";
        var bytes = new byte[size];
        fixed (byte* p = bytes) Status.Check(NvrtcApi.nvrtcGetProgramLog(program, p));
        return Encoding.UTF8.GetString(bytes, 0, bytes.Length - 1).TrimEnd();
    }

    private static unsafe Probe ProbeLibrary()
    {
        if (!NativeLibraries.TryLoad(NvidiaLibrary.Nvrtc, out var error)) return new Probe(null, [], error);
        try
        {
            Status.Check(NvrtcApi.nvrtcVersion(out var major, out var minor));
            Status.Check(NvrtcApi.nvrtcGetNumSupportedArchs(out var count));
            var archs = new int[count];
            fixed (int* p = archs) Status.Check(NvrtcApi.nvrtcGetSupportedArchs(p));
            return new Probe(new Version(major, minor), archs, "");
        }
        catch (Exception e) when (e is CudaException or EntryPointNotFoundException)
        {
            return new Probe(null, [], $"{LibraryPath} is unusable: {e.Message}");
        }
    }

    private sealed record Probe(Version? Version, int[] Archs, string Reason);

    /// <summary>NUL-terminated UTF-8 copies of strings in native memory, and the char** array over them.</summary>
    private sealed unsafe class Utf8Strings : IDisposable
    {
        private readonly IntPtr[] strings;

        public Utf8Strings(string[] values)
        {
            strings = values.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
            Pointers = (byte**)NativeMemory.Alloc((nuint)Math.Max(1, values.Length), (nuint)sizeof(byte*));
            for (var i = 0; i < values.Length; i++) Pointers[i] = (byte*)strings[i];
        }

        public int Count => strings.Length;

        public byte** Pointers { get; }

        public byte* this[int i] => Pointers[i];

        public void Dispose()
        {
            foreach (var s in strings) Marshal.FreeCoTaskMem(s);
            NativeMemory.Free(Pointers);
        }
    }
}
