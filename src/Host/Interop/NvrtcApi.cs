using System.Runtime.InteropServices;

namespace BayesPfl.Host.Interop;

/// <summary>nvrtcResult; only success is branched on, the rest are named by nvrtcGetErrorString.</summary>
internal enum nvrtcResult
{
    NVRTC_SUCCESS = 0,
}

/// <summary>NVRTC (runtime compilation of CUDA C++), native names. Strings are UTF-8 char* the caller owns.</summary>
internal static unsafe partial class NvrtcApi
{
    private const string Lib = NativeLibraries.Nvrtc;

    static NvrtcApi() => NativeLibraries.EnsureResolver();

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcVersion(out int major, out int minor);

    [LibraryImport(Lib)] internal static partial IntPtr nvrtcGetErrorString(nvrtcResult result);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetNumSupportedArchs(out int count);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetSupportedArchs(int* archs);

    [LibraryImport(Lib)]
    internal static partial nvrtcResult nvrtcCreateProgram(out IntPtr program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcCompileProgram(IntPtr program, int optionCount, byte** options);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetProgramLogSize(IntPtr program, out nuint size);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetProgramLog(IntPtr program, byte* log);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetPTXSize(IntPtr program, out nuint size);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetPTX(IntPtr program, byte* ptx);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetCUBINSize(IntPtr program, out nuint size);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcGetCUBIN(IntPtr program, byte* cubin);

    [LibraryImport(Lib)] internal static partial nvrtcResult nvrtcDestroyProgram(ref IntPtr program);
}
