using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Detection;
using BayesPfl.Host;

namespace BayesPfl.Native;

/// <summary>
/// The C entry points of include/bayespfl.h. Each one catches every exception (none may unwind into C) and
/// returns a bpfl_status; the message goes to bpfl_last_error. Handles are looked up in <see cref="Handles"/>.
/// </summary>
internal static unsafe class Exports
{
    // Must equal BPFL_VERSION in the header (a test checks it). NUL-terminated; u8 literals live in the image's
    // read-only data, so the pointer stays valid and fixed.
    private static ReadOnlySpan<byte> VersionUtf8 => "0.1.0\0"u8;

    public static string Version => Encoding.UTF8.GetString(VersionUtf8[..^1]);

    [UnmanagedCallersOnly(EntryPoint = "bpfl_version")]
    public static byte* BpflVersion() => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(VersionUtf8));

    [UnmanagedCallersOnly(EntryPoint = "bpfl_last_error")]
    public static byte* BpflLastError() => Errors.LastError;

    [UnmanagedCallersOnly(EntryPoint = "bpfl_options_default")]
    public static int BpflOptionsDefault(BpflOptions* options)
    {
        try
        {
            Args.NotNull(options, "options");
            var d = new DetectorOptions();
            *options = new BpflOptions
            {
                StructSize = (uint)sizeof(BpflOptions),
                Device = (int)d.Device,
                Precision = (int)d.Precision,
                Samples = d.Samples,
                Seed = d.Seed,
                TopK = d.TopK ?? 0,
            };
            return (int)Status.Ok;
        }
        catch (Exception e)
        {
            return Errors.Report("bpfl_options_default", e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bpfl_detector_open")]
    public static int BpflDetectorOpen(byte* clipPath, byte* headPath, BpflOptions* options, nint* detector)
    {
        try
        {
            Args.NotNull(detector, "out");
            *detector = 0;
            var clip = Args.Utf8(clipPath, "clip_path");
            var head = Args.Utf8(headPath, "head_path");
            var settings = Args.Options(options);
            // The engine's own check words it for the command line (--device); the C caller set options->device.
            if (settings.Device == DetectorDevice.Cuda && !Cuda.IsAvailable)
                throw new CudaUnavailableException($"{Cuda.UnavailableReason} (options->device is BPFL_DEVICE_CUDA)");
            *detector = Handles.Add(AnomalyDetector.Load(clip, head, settings));
            return (int)Status.Ok;
        }
        catch (Exception e)
        {
            return Errors.Report("bpfl_detector_open", e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bpfl_detector_close")]
    public static void BpflDetectorClose(nint detector)
    {
        try
        {
            Handles.Close(detector);
        }
        catch (Exception e)
        {
            // void in C: the failure (a device error while freeing) is only reported through bpfl_last_error.
            Errors.Report("bpfl_detector_close", e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bpfl_detector_map_size")]
    public static int BpflDetectorMapSize(nint detector)
    {
        try
        {
            var entry = Handles.Get(detector, "detector");
            lock (entry.Gate) return entry.Detector.ImageSize;
        }
        catch (Exception e)
        {
            return -Errors.Report("bpfl_detector_map_size", e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bpfl_image_file_size")]
    public static int BpflImageFileSize(byte* imagePath, int* width, int* height)
    {
        try
        {
            Args.NotNull(width, "width");
            Args.NotNull(height, "height");
            (*width, *height) = ImageFile.CheckHeader(Args.Utf8(imagePath, "image_path"));
            return (int)Status.Ok;
        }
        catch (Exception e)
        {
            return Errors.Report("bpfl_image_file_size", e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bpfl_detect_rgb8")]
    public static int BpflDetectRgb8(nint detector, byte* rgb, int width, int height, int rowStrideBytes, byte* className,
        BpflResult* result, float* map, float* mapAtImageSize)
    {
        try
        {
            var entry = Handles.Get(detector, "detector");
            var name = Args.Utf8(className, "class_name");
            CheckResult(result);
            var image = Args.Rgb8(rgb, width, height, rowStrideBytes);
            AnomalyResult r;
            lock (entry.Gate) r = entry.Detector.Detect([image], name)[0];
            Write(r, result, map, mapAtImageSize);
            return (int)Status.Ok;
        }
        catch (Exception e)
        {
            return Errors.Report("bpfl_detect_rgb8", e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "bpfl_detect_file")]
    public static int BpflDetectFile(nint detector, byte* imagePath, byte* className, BpflResult* result, float* map,
        float* mapAtImageSize, nuint mapAtImageSizeCapacity)
    {
        try
        {
            var entry = Handles.Get(detector, "detector");
            var path = Args.Utf8(imagePath, "image_path");
            var name = Args.Utf8(className, "class_name");
            CheckResult(result);
            // The header first: a too small buffer is refused before the model runs.
            var (w, h) = ImageFile.CheckHeader(path);
            if (mapAtImageSize != null && mapAtImageSizeCapacity < (nuint)((long)w * h))
                throw new ArgumentException($"map_at_image_size holds {mapAtImageSizeCapacity} floats; {path} is {w}x{h} and needs {(long)w * h}");
            AnomalyResult r;
            lock (entry.Gate) r = entry.Detector.Detect([path], name)[0];
            Write(r, result, map, mapAtImageSize);
            return (int)Status.Ok;
        }
        catch (Exception e)
        {
            return Errors.Report("bpfl_detect_file", e);
        }
    }

    private static void CheckResult(BpflResult* result)
    {
        Args.NotNull(result, "result");
        Args.StructSize(result->StructSize, sizeof(BpflResult), "result");
    }

    /// <summary>Copies one result into the caller's struct and buffers (the header documents which map goes where).</summary>
    private static void Write(AnomalyResult r, BpflResult* result, float* map, float* mapAtImageSize)
    {
        *result = new BpflResult
        {
            StructSize = (uint)sizeof(BpflResult),
            PImg = r.PImg,
            SMap = r.SMap,
            TopK = r.TopK,
            MapSize = r.MapSize,
            ImageWidth = r.ImageWidth,
            ImageHeight = r.ImageHeight,
        };
        if (map != null) r.Blurred.CopyTo(new Span<float>(map, r.Blurred.Length));
        if (mapAtImageSize != null) r.BlurredAtImageSize.CopyTo(new Span<float>(mapAtImageSize, r.BlurredAtImageSize.Length));
    }
}
