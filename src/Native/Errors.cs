using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using BayesPfl.Engine.Weights.Convert;
using BayesPfl.Host;

namespace BayesPfl.Native;

/// <summary>
/// Turns an exception caught at the boundary into a bpfl_status and the calling thread's bpfl_last_error message.
/// The engine's exceptions already name the file, tensor or argument at fault; the entry point's name is prefixed.
/// </summary>
internal static unsafe class Errors
{
    // One NUL-terminated UTF-8 message per thread, replaced by the next failure on that thread (the header's contract).
    [ThreadStatic] private static byte* message;

    private static readonly byte* Empty = (byte*)NativeMemory.AllocZeroed(1);

    public static byte* LastError => message == null ? Empty : message;

    /// <summary>Records the failure of <paramref name="entryPoint"/> and returns its status.</summary>
    public static int Report(string entryPoint, Exception e)
    {
        var status = StatusOf(e);
        // Other exceptions are bugs or resource exhaustion: their type tells more than their message alone.
        var text = status == Status.Internal ? $"{entryPoint}: {e.GetType().Name}: {e.Message}" : $"{entryPoint}: {e.Message}";
        Set(text);
        return (int)status;
    }

    public static Status StatusOf(Exception e) => e switch
    {
        // The engine wraps a file it cannot open in an error naming the file; the cause decides the status.
        InvalidDataException { InnerException: (IOException and not EndOfStreamException) or UnauthorizedAccessException } => Status.Io,
        ArgumentException or ObjectDisposedException => Status.InvalidArgument,
        CudaUnavailableException or CudaException or KernelCompileException or DllNotFoundException => Status.Device,
        InvalidDataException or ClipMismatchException or KeyNotFoundException or JsonException or EndOfStreamException => Status.Format,
        IOException or UnauthorizedAccessException => Status.Io,
        _ => Status.Internal,
    };

    private static void Set(string text)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        var buffer = (byte*)NativeMemory.Alloc((nuint)bytes + 1);
        Encoding.UTF8.GetBytes(text, new Span<byte>(buffer, bytes));
        buffer[bytes] = 0;
        var old = message;
        message = buffer;
        NativeMemory.Free(old);
    }
}
