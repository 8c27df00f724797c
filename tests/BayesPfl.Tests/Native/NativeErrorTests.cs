using BayesPfl.Host;
using BayesPfl.Tests.Infra;
using BayesPfl.Tests.Precision;
using Xunit;
using static BayesPfl.Tests.Native.LibBayesPfl;

namespace BayesPfl.Tests.Native;

/// <summary>
/// Bad input through the C entry points: each call returns its status, bpfl_last_error names the culprit, and the
/// process (this test host, which has the library loaded) survives to run the next case.
/// </summary>
public unsafe class NativeErrorTests(TinyDetectorFiles fx) : IClassFixture<TinyDetectorFiles>
{
    [Fact]
    public void MissingModelFileIsAnIoErrorNamingIt()
    {
        var missing = Path.Combine(fx.Dir, "no-such-clip.safetensors");
        nint detector = 1;
        Expect(Io, Open(missing, fx.HeadPath, null, &detector), "bpfl_detector_open", missing);
        Assert.Equal(0, detector);
    }

    [Fact]
    public void TruncatedWeightFileIsAFormatErrorNamingIt()
    {
        var truncated = Path.Combine(Repo.TempDir("native-truncated"), "head.safetensors");
        var bytes = File.ReadAllBytes(fx.HeadPath);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        nint detector;
        Expect(Format, Open(fx.ClipPath, truncated, null, &detector), "bpfl_detector_open", truncated);
    }

    [Fact]
    public void CorruptImageIsAFormatErrorNamingIt()
    {
        var corrupt = Path.Combine(Repo.TempDir("native-corrupt"), "corrupt.png");
        var png = File.ReadAllBytes(fx.Images[0]);
        File.WriteAllBytes(corrupt, png[..(png.Length * 2 / 3)]);
        WithDetector(d =>
        {
            var result = CResult.Empty;
            Expect(Format, DetectFile(d, corrupt, "bottle", &result, null, null, 0), "bpfl_detect_file", corrupt);
            var notImage = Path.ChangeExtension(corrupt, ".jpg");
            File.WriteAllText(notImage, "not an image");
            int w, h;
            Expect(Format, ImageFileSize(notImage, &w, &h), "bpfl_image_file_size", notImage);
            Expect(Io, DetectFile(d, corrupt + ".missing", "bottle", &result, null, null, 0), "bpfl_detect_file", corrupt + ".missing");
        });
    }

    [Fact]
    public void NullArgumentsAreInvalidArgumentsNamingTheParameter()
    {
        nint detector;
        Expect(InvalidArgument, Open(null, fx.HeadPath, null, &detector), "clip_path is NULL");
        Expect(InvalidArgument, Open(fx.ClipPath, null, null, &detector), "head_path is NULL");
        Expect(InvalidArgument, Open(fx.ClipPath, fx.HeadPath, null, null), "out is NULL");
        Expect(InvalidArgument, OptionsDefault(null), "options is NULL");
        int w;
        Expect(InvalidArgument, ImageFileSize(fx.Images[0], &w, null), "height is NULL");
        WithDetector(d =>
        {
            var result = CResult.Empty;
            var pixel = stackalloc byte[3];
            Expect(InvalidArgument, DetectRgb8(0, pixel, 1, 1, 3, "bottle", &result, null, null), "detector is NULL");
            Expect(InvalidArgument, DetectRgb8(d, null, 1, 1, 3, "bottle", &result, null, null), "rgb is NULL");
            Expect(InvalidArgument, DetectRgb8(d, pixel, 1, 1, 3, null, &result, null, null), "class_name is NULL");
            Expect(InvalidArgument, DetectRgb8(d, pixel, 1, 1, 3, "bottle", null, null, null), "result is NULL");
            Expect(InvalidArgument, DetectFile(d, null, "bottle", &result, null, null, 0), "image_path is NULL");
        });
    }

    [Fact]
    public void BadSizesStridesAndStructSizesAreInvalidArguments()
    {
        var rgb = new byte[3 * 4 * 4];
        WithDetector(d =>
        {
            var result = CResult.Empty;
            fixed (byte* p = rgb)
            {
                Expect(InvalidArgument, DetectRgb8(d, p, 4, 4, 11, "bottle", &result, null, null), "row_stride_bytes is 11, less than 3 * width = 12");
                Expect(InvalidArgument, DetectRgb8(d, p, 0, 4, 12, "bottle", &result, null, null), "image size 0x4");
                Expect(InvalidArgument, DetectRgb8(d, p, 4, -1, 12, "bottle", &result, null, null), "image size 4x-1");
                var stale = result with { StructSize = 12 };
                Expect(InvalidArgument, DetectRgb8(d, p, 4, 4, 12, "bottle", &stale, null, null), "result->struct_size is 12");
            }
            var small = new float[10];
            fixed (float* s = small)
                Expect(InvalidArgument, DetectFile(d, fx.Images[0], "bottle", &result, null, s, (nuint)small.Length), "map_at_image_size holds 10 floats");
        });
        COptions options;
        OptionsDefault(&options);
        options.StructSize += 8;
        nint detector;
        Expect(InvalidArgument, Open(fx.ClipPath, fx.HeadPath, &options, &detector), "newer bayespfl.h");
    }

    [Fact]
    public void UnknownEnumValuesAndBadOptionsAreInvalidArguments()
    {
        (Func<COptions, COptions> Change, string Message)[] cases =
        [
            (o => o with { Device = 7 }, "options->device is 7"),
            (o => o with { Device = -1 }, "options->device is -1"),
            (o => o with { Precision = 2 }, "options->precision is 2"),
            (o => o with { Samples = 0 }, "options->samples is 0"),
            (o => o with { TopK = -5 }, "options->top_k is -5"),
        ];
        foreach (var (change, message) in cases)
        {
            COptions defaults;
            OptionsDefault(&defaults);
            var options = change(defaults);
            nint detector;
            Expect(InvalidArgument, Open(fx.ClipPath, fx.HeadPath, &options, &detector), message);
        }
    }

    [Fact]
    public void CudaWithoutADeviceIsADeviceError()
    {
        if (Cuda.IsAvailable) Assert.Skip("a CUDA device is present; this checks the error without one");
        COptions options;
        OptionsDefault(&options);
        options.Device = 2;
        nint detector;
        Expect(Device, Open(fx.ClipPath, fx.HeadPath, &options, &detector), "BPFL_DEVICE_CUDA");
        Assert.Contains("no CUDA device", LastError());
    }

    [Fact]
    public void ClosedAndForeignHandlesAreErrorsAndCloseIsNullSafe()
    {
        var d = OpenCpu(fx.ClipPath, fx.HeadPath);
        Assert.Equal(TinyDetectorFiles.Config.Vision.ImageSize, MapSize(d));
        Close(d);
        Close(d);
        Close(0);
        Assert.Equal(-InvalidArgument, MapSize(d));
        Assert.Contains("not an open detector", LastError());
        var result = CResult.Empty;
        Expect(InvalidArgument, DetectFile(d, fx.Images[0], "bottle", &result, null, null, 0), "not an open detector");
        // An address no open call returned (here: this test's stack), never dereferenced by the library.
        Expect(InvalidArgument, DetectFile((nint)(&result), fx.Images[0], "bottle", &result, null, null, 0), "not an open detector");
    }

    [Fact]
    public void LastErrorIsPerThread()
    {
        nint detector;
        Expect(InvalidArgument, Open(null, fx.HeadPath, null, &detector), "clip_path is NULL");
        string? other = null;
        var thread = new Thread(() => other = LastError());
        thread.Start();
        thread.Join();
        Assert.Equal("", other);
        Assert.Contains("clip_path is NULL", LastError());
    }

    private void WithDetector(Action<nint> body)
    {
        var d = OpenCpu(fx.ClipPath, fx.HeadPath);
        try
        {
            body(d);
        }
        finally
        {
            Close(d);
        }
    }

    private static void Expect(int status, int got, params string[] inMessage)
    {
        var message = LastError();
        Assert.True(got == status, $"expected status {status}, got {got}: {message}");
        foreach (var part in inMessage) Assert.Contains(part, message);
    }
}
