using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Weights;

public class SafeTensorsTests
{
    [Fact]
    public void RoundTripsTensorsAndMetadata()
    {
        var path = Path.Combine(Repo.TempDir("st"), "a.safetensors");
        new SafeTensorsWriter().Metadata("config", "{\"width\":7}")
            .Add("w", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3)
            .Add("ids", [7L, -1L], 2)
            .AddBf16("h", [1.5f, -2.25f], 2)
            .Save(path);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal("{\"width\":7}", f.Metadata["config"]);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], f.ReadFloats("w"));
        Assert.Equal([2, 3], f.Entry("w").Shape);
        Assert.Equal([7L, -1L], f.ReadInts("ids"));
        Assert.Equal([1.5f, -2.25f], f.ReadFloats("h"));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, ".*tmp*"));
    }

    [Fact]
    public void ReadsWhatPythonWrites()
    {
        using var f = Oracle.Run("st_roundtrip.py");
        Assert.Equal("yes", f.Metadata["oracle"]);
        var x = f.ReadFloats("x");
        var half = f.ReadFloats("x_f16");
        var bf = f.ReadFloats("x_bf16");
        var dbl = f.ReadFloats("x_f64");
        Assert.Equal(f.Entry("x").Shape, f.Entry("x_f16").Shape);
        // fp16 keeps 11 significant bits (rel. error <= 2^-11), bf16 8 bits (<= 2^-8); the values are O(1).
        TensorAssert.Close("f16", half, x, 1e-6, 1.0 / 2048);
        TensorAssert.Close("bf16", bf, x, 1e-6, 1.0 / 256);
        TensorAssert.Close("f64", dbl, x, 0, 0);
        Assert.Equal(f.ReadInts("i64").Select(v => (float)v), f.ReadFloats("i64_as_f32"));
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "short", "shorter than the 8-byte" },
        { "huge-header", "exceeds the" },
        { "header-past-end", "runs past the end" },
        { "not-json", "not valid JSON" },
        { "bad-dtype", "unknown dtype 'Q7'" },
        { "size-mismatch", "needs 24 bytes" },
        { "out-of-range", "runs past the end of the data section" },
        { "overlap", "overlap" },
        { "negative-dim", "invalid dimension" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void RejectsCorruptFilesWithAClearMessage(string kind, string expected)
    {
        var path = Path.Combine(Repo.TempDir("st-bad"), kind + ".safetensors");
        File.WriteAllBytes(path, Corrupt(kind));
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    private static byte[] Corrupt(string kind)
    {
        static byte[] File(string json, int dataBytes, long? declaredLength = null)
        {
            var h = System.Text.Encoding.UTF8.GetBytes(json);
            var b = new byte[8 + h.Length + dataBytes];
            BitConverter.TryWriteBytes(b.AsSpan(0, 8), declaredLength ?? h.Length);
            h.CopyTo(b, 8);
            return b;
        }
        const string ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
        return kind switch
        {
            "short" => [1, 2, 3],
            "huge-header" => File(ok, 24, 1L << 40),
            "header-past-end" => File(ok, 0, ok.Length + 100),
            "not-json" => File("{\"a\":", 0),
            "bad-dtype" => File(ok.Replace("F32", "Q7"), 24),
            "size-mismatch" => File(ok.Replace("[0,24]", "[0,20]"), 24),
            "out-of-range" => File(ok, 12),
            "overlap" => File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
            "negative-dim" => File(ok.Replace("[2,3]", "[-2,3]"), 24),
            _ => throw new ArgumentException(kind),
        };
    }
}
