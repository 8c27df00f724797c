using BayesPfl.Host.Interop;

namespace BayesPfl.Host;

/// <summary>Whether cuBLAS can be loaded (asked without a GPU: it only loads the library).</summary>
public static class Cublas
{
    public static bool IsAvailable => NativeLibraries.TryLoad(NvidiaLibrary.Cublas, out _);

    /// <summary>Why cuBLAS cannot be loaded ("" when it can).</summary>
    public static string UnavailableReason => NativeLibraries.TryLoad(NvidiaLibrary.Cublas, out var error) ? "" : error;

    /// <summary>The library file that was loaded.</summary>
    public static string? LibraryPath => NativeLibraries.LoadedPath(NvidiaLibrary.Cublas);
}
