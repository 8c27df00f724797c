using System.Globalization;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Detection;
using BayesPfl.Tests.Infra;
using BayesPfl.Tests.Precision;
using Xunit;

namespace BayesPfl.Tests.Native;

/// <summary>
/// libbayespfl.so (through its C entry points and through the C example) against AnomalyDetector.Detect in this
/// process, on the tiny random detector and its three PNGs, each image scored in its own call in the same order on
/// both sides (the prompt samples are drawn in detection order).
/// </summary>
public class NativeParityTests(TinyDetectorFiles fx, ITestOutputHelper output) : IClassFixture<TinyDetectorFiles>
{
    private const string ClassName = "bottle";

    // Not bitwise: the library is compiled ahead of time for x86-64-v3 (AVX2), while this process's JIT uses the
    // widest vectors the CPU has (AVX-512 on the CI machine), so TensorPrimitives' reductions (LayerNorm, softmax,
    // blur sums) add floats in another order. Measured on the tiny model (fp32, AVX-512 machine): |dp_img| <= 1.2e-7,
    // |ds_map| <= 2.2e-8, max |dmap| 6e-8, max |dmap at image size| 1.2e-7, i.e. 1-2 ulps of values near 0.6. The
    // bound, ~16 ulps, leaves room for other CPUs' vector widths and stays far below what a real difference in the
    // pipeline moves (another sample, blur or top-k changes them by more than 1e-3).
    private const double ScoreTol = 2e-6;
    private const double MapTol = 2e-6;

    [Fact]
    public unsafe void FileDetectionMatchesTheCSharpApi()
    {
        var expected = CSharpResults(fx.Images.Select(ImageFile.LoadRgb).ToArray());
        var detector = LibBayesPfl.OpenCpu(fx.ClipPath, fx.HeadPath);
        try
        {
            for (var i = 0; i < fx.Images.Length; i++)
            {
                var e = expected[i];
                var map = new float[e.MapSize * e.MapSize];
                var resized = new float[e.ImageWidth * e.ImageHeight];
                var result = CResult.Empty;
                fixed (float* m = map, r = resized)
                    Check(LibBayesPfl.DetectFile(detector, fx.Images[i], ClassName, &result, m, r, (nuint)resized.Length));
                Compare(Path.GetFileName(fx.Images[i]), result, map, resized, e);
            }
        }
        finally
        {
            LibBayesPfl.Close(detector);
        }
    }

    [Fact]
    public unsafe void Rgb8WithPaddedRowsMatchesTheCSharpApi()
    {
        var images = fx.Images.Select(ImageFile.LoadRgb).ToArray();
        var expected = CSharpResults(images);
        var detector = LibBayesPfl.OpenCpu(fx.ClipPath, fx.HeadPath);
        try
        {
            for (var i = 0; i < images.Length; i++)
            {
                var (img, e) = (images[i], expected[i]);
                // Rows 7 bytes longer than 3*width, the padding filled with 0xFF: it must not reach the model.
                var stride = 3 * img.Width + 7;
                var padded = new byte[stride * img.Height];
                Array.Fill(padded, (byte)0xFF);
                for (var y = 0; y < img.Height; y++) img.Pixels.AsSpan(y * 3 * img.Width, 3 * img.Width).CopyTo(padded.AsSpan(y * stride));
                var map = new float[e.MapSize * e.MapSize];
                var resized = new float[img.Width * img.Height];
                var result = CResult.Empty;
                fixed (byte* p = padded)
                fixed (float* m = map, r = resized)
                    Check(LibBayesPfl.DetectRgb8(detector, p, img.Width, img.Height, stride, ClassName, &result, m, r));
                Compare($"rgb8 {Path.GetFileName(fx.Images[i])}", result, map, resized, e);
            }
        }
        finally
        {
            LibBayesPfl.Close(detector);
        }
    }

    [Fact]
    public void ExampleProgramPrintsTheCSharpScores()
    {
        var expected = CSharpResults(fx.Images.Select(ImageFile.LoadRgb).ToArray());
        var (exit, stdout, stderr) = ChildProcess.Run(NativeBuild.Get().Example,
            ["--clip", fx.ClipPath, "--head", fx.HeadPath, "--class", ClassName, "--device", "cpu", .. fx.Images], TimeSpan.FromMinutes(3));
        output.WriteLine(stdout + stderr);
        Assert.True(exit == 0, $"bayespfl_detect exited with {exit}: {stderr}");
        var lines = stdout.Split('\n').Where(l => l.Contains("\tp_img=")).ToArray();
        Assert.Equal(fx.Images.Length, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split('\t').Skip(1).Select(f => f.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
            Assert.StartsWith(fx.Images[i], lines[i]);
            AssertClose($"{fx.Images[i]} p_img", double.Parse(fields["p_img"], CultureInfo.InvariantCulture), expected[i].PImg);
            AssertClose($"{fx.Images[i]} s_map", double.Parse(fields["s_map"], CultureInfo.InvariantCulture), expected[i].SMap);
            Assert.Equal(expected[i].TopK, int.Parse(fields["top_k"], CultureInfo.InvariantCulture));
        }
        Assert.Contains("first call", stdout);
        Assert.Contains("ms/image", stdout);
    }

    private IReadOnlyList<AnomalyResult> CSharpResults(Image8[] images)
    {
        using var detector = AnomalyDetector.Load(fx.ClipPath, fx.HeadPath, new DetectorOptions { Device = DetectorDevice.Cpu });
        return images.Select(img => detector.Detect([img], ClassName)[0]).ToArray();
    }

    private void Compare(string name, CResult got, float[] map, float[] resized, AnomalyResult e)
    {
        Assert.Equal((e.TopK, e.MapSize, e.ImageWidth, e.ImageHeight), (got.TopK, got.MapSize, got.ImageWidth, got.ImageHeight));
        var maxMap = MaxAbsDiff(map, e.Blurred);
        output.WriteLine($"{name}: |dp_img| {Math.Abs(got.PImg - e.PImg):G3}, |ds_map| {Math.Abs(got.SMap - e.SMap):G3}, max |dmap| {maxMap:G3}, " +
            $"max |dmap at image size| {MaxAbsDiff(resized, e.BlurredAtImageSize):G3}");
        AssertClose($"{name} p_img", got.PImg, e.PImg);
        AssertClose($"{name} s_map", got.SMap, e.SMap);
        TensorAssert.Close($"{name} map", map, e.Blurred, MapTol, 0);
        TensorAssert.Close($"{name} map at image size", resized, e.BlurredAtImageSize, MapTol, 0);
    }

    private static void AssertClose(string name, double got, double expected) =>
        Assert.True(Math.Abs(got - expected) <= ScoreTol, $"{name}: C ABI {got:R}, C# {expected:R}, |diff| {Math.Abs(got - expected):G3} > {ScoreTol}");

    private static double MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    private static void Check(int status)
    {
        if (status != LibBayesPfl.Ok) Assert.Fail($"status {status}: {LibBayesPfl.LastError()}");
    }
}
