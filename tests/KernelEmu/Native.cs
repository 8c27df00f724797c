using System.Reflection;
using System.Runtime.InteropServices;

namespace BayesPfl.KernelEmu;

/// <summary>
/// The C ABI of libkernelemu.so (tests/KernelEmu/emu_api.h), native names kept. The library is found next to
/// this assembly, through BAYESPFL_KERNELEMU_LIB, or in tests/KernelEmu/build of the repository above the
/// running binary (build.sh writes it there; it is never committed).
/// </summary>
internal static unsafe partial class Native
{
    private const string Lib = "kernelemu";
    private const string FileName = "libkernelemu.so";

    static Native() => NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);

    /// <summary>Loads the library now, so a missing build fails where the emulator is created.</summary>
    internal static void EnsureLoaded() => emu_kernel_list(null, 0);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib) return IntPtr.Zero;
        var tried = new List<string>();
        foreach (var candidate in Candidates())
        {
            tried.Add(candidate);
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
        }
        throw new DllNotFoundException($"{FileName} not found (tried {string.Join(", ", tried)}); building tests/KernelEmu " +
            "(dotnet build) runs tests/KernelEmu/build.sh, which needs g++ and libboost-context-dev");
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("BAYESPFL_KERNELEMU_LIB") is { Length: > 0 } env) yield return env;
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BayesPfl.Native.sln")))
            {
                yield return Path.Combine(dir.FullName, "tests", "KernelEmu", "build", FileName);
                yield break;
            }
    }

    /// <summary>Calls a native function that reports failure as nonzero plus a message; returns the message or null.</summary>
    internal static string? Call(Func<IntPtr, int, int> call)
    {
        const int Size = 4096;
        var buffer = stackalloc byte[Size];
        return call((IntPtr)buffer, Size) == 0 ? null : Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "unknown emulator error";
    }

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int emu_launch(string name, uint gx, uint gy, uint gz, uint bx, uint by, uint bz, nuint smem,
        IntPtr args, int nargs, int workers, IntPtr err, int errlen);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int emu_kernel_signature(string name, IntPtr output, int outlen);

    [LibraryImport(Lib)]
    internal static partial int emu_kernel_list(byte* output, int outlen);

    [LibraryImport(Lib)]
    internal static partial void emu_set_stack_bytes(nuint bytes);

    [LibraryImport(Lib)]
    internal static partial nuint emu_get_stack_bytes();

    [LibraryImport(Lib)]
    internal static partial int emu_sgemm_strided_batched(int transA, int transB, int m, int n, int k, float alpha,
        IntPtr a, int lda, long strideA, IntPtr b, int ldb, long strideB, float beta, IntPtr c, int ldc, long strideC,
        int batch, int workers, IntPtr err, int errlen);

    [LibraryImport(Lib)]
    internal static partial int emu_gemm_bf16_strided_batched(int transA, int transB, int m, int n, int k, float alpha,
        IntPtr a, int lda, long strideA, IntPtr b, int ldb, long strideB, float beta, IntPtr c, int ldc, long strideC,
        int batch, int workers, IntPtr err, int errlen);
}
