using System.Runtime.InteropServices;

namespace BayesPfl.Tests.Native;

/// <summary>The test's own view of bayespfl.h's structs; NativeHeaderTests checks it against the C compiler's layout.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct COptions
{
    public uint StructSize;
    public int Device;
    public int Precision;
    public int Samples;
    public ulong Seed;
    public int TopK;
}

[StructLayout(LayoutKind.Sequential)]
public struct CResult
{
    public uint StructSize;
    public double PImg;
    public double SMap;
    public int TopK;
    public int MapSize;
    public int ImageWidth;
    public int ImageHeight;

    public static CResult Empty => new() { StructSize = (uint)Marshal.SizeOf<CResult>() };
}

/// <summary>
/// libbayespfl.so loaded into the test process (a NativeAOT library carries its own runtime, so it lives beside
/// this CoreCLR one) and its entry points as unmanaged function pointers, called exactly as C would call them.
/// </summary>
public static unsafe class LibBayesPfl
{
    public const int Ok = 0, InvalidArgument = 1, Io = 2, Format = 3, Device = 4, Internal = 5;

    private static readonly Lazy<nint> Handle = new(() => NativeLibrary.Load(NativeBuild.Get().Library));

    private static nint Export(string name) => NativeLibrary.GetExport(Handle.Value, name);

    public static string Version() => Utf8(((delegate* unmanaged<byte*>)Export("bpfl_version"))());

    public static string LastError() => Utf8(((delegate* unmanaged<byte*>)Export("bpfl_last_error"))());

    public static int OptionsDefault(COptions* options) => ((delegate* unmanaged<COptions*, int>)Export("bpfl_options_default"))(options);

    public static int Open(string? clip, string? head, COptions* options, nint* detector)
    {
        using var c = new Utf8Z(clip);
        using var h = new Utf8Z(head);
        return ((delegate* unmanaged<byte*, byte*, COptions*, nint*, int>)Export("bpfl_detector_open"))(c.Pointer, h.Pointer, options, detector);
    }

    public static void Close(nint detector) => ((delegate* unmanaged<nint, void>)Export("bpfl_detector_close"))(detector);

    public static int MapSize(nint detector) => ((delegate* unmanaged<nint, int>)Export("bpfl_detector_map_size"))(detector);

    public static int ImageFileSize(string? path, int* width, int* height)
    {
        using var p = new Utf8Z(path);
        return ((delegate* unmanaged<byte*, int*, int*, int>)Export("bpfl_image_file_size"))(p.Pointer, width, height);
    }

    public static int DetectRgb8(nint detector, byte* rgb, int width, int height, int stride, string? className, CResult* result,
        float* map, float* mapAtImageSize)
    {
        using var c = new Utf8Z(className);
        return ((delegate* unmanaged<nint, byte*, int, int, int, byte*, CResult*, float*, float*, int>)Export("bpfl_detect_rgb8"))(
            detector, rgb, width, height, stride, c.Pointer, result, map, mapAtImageSize);
    }

    public static int DetectFile(nint detector, string? path, string? className, CResult* result, float* map, float* mapAtImageSize,
        nuint capacity)
    {
        using var p = new Utf8Z(path);
        using var c = new Utf8Z(className);
        return ((delegate* unmanaged<nint, byte*, byte*, CResult*, float*, float*, nuint, int>)Export("bpfl_detect_file"))(
            detector, p.Pointer, c.Pointer, result, map, mapAtImageSize, capacity);
    }

    /// <summary>Opens a detector on the CPU (the default options otherwise); fails the test with the library's message.</summary>
    public static nint OpenCpu(string clip, string head)
    {
        COptions options;
        OptionsDefault(&options);
        options.Device = 1;
        nint detector;
        var status = Open(clip, head, &options, &detector);
        if (status != Ok) throw new InvalidOperationException($"bpfl_detector_open returned {status}: {LastError()}");
        return detector;
    }

    private static string Utf8(byte* text) => Marshal.PtrToStringUTF8((nint)text) ?? "(NULL)";

    /// <summary>A NUL-terminated UTF-8 copy of a string (null: a NULL pointer), freed on dispose.</summary>
    private readonly struct Utf8Z(string? text) : IDisposable
    {
        public byte* Pointer { get; } = text is null ? null : (byte*)Marshal.StringToCoTaskMemUTF8(text);

        public void Dispose() => Marshal.FreeCoTaskMem((nint)Pointer);
    }
}
