using BayesPfl.Engine.Weights;
using BayesPfl.Engine.Weights.Torch;
using Xunit;
using static BayesPfl.Tests.Weights.Torch.TorchArchiveFiles;

namespace BayesPfl.Tests.Weights.Torch;

public class TorchArchiveTests
{
    [Fact]
    public void ReadsTorchSaveStateDictBitExact()
    {
        using var a = TorchArchive.Open(File("sd_f32.pt"));
        Assert.False(a.IsTorchScript);
        var names = Names("sd").ToList();
        Assert.Equal(names, a.Tensors.Keys.ToList()); // same names, same (pickle) order
        foreach (var n in names)
        {
            Assert.Equal(Expect.Entry("sd/" + n).Shape, a.Tensors[n].Shape);
            AssertBitExact(n, a.Tensors[n].ReadFloats(), Values("sd", n));
        }
    }

    [Fact]
    public void ReadsNonContiguousViewsAndSharedStorage()
    {
        using var a = TorchArchive.Open(File("sd_f32.pt"));
        var proj = a.Tensors["visual.proj"];
        Assert.False(proj.IsContiguous);
        Assert.Equal([1L, 64L], proj.Stride); // a transposed [48,64] tensor
        var w = a.Tensors["visual.ln_pre.weight"];
        var b = a.Tensors["visual.ln_pre.bias"];
        Assert.Same(w.Storage, b.Storage);
        Assert.Equal((0L, 64L), (w.Offset, b.Offset));
        AssertBitExact("visual.proj", proj.ReadFloats(), Values("sd", "visual.proj"));
        AssertBitExact("visual.ln_pre.bias", b.ReadFloats(), Values("sd", "visual.ln_pre.bias"));
    }

    [Fact]
    public void ReadsFp16Copy()
    {
        using var a = TorchArchive.Open(File("sd_f16.pt"));
        foreach (var n in Names("sd").Where(n => Expect.Entry("sd/" + n).Shape.Length > 0 && !n.EndsWith("_resolution", StringComparison.Ordinal)))
        {
            if (a.Tensors[n].DType != StDType.F16) continue; // the int buffers stay int64
            var expected = Values("sd", n).Select(x => (float)(Half)x).ToArray();
            AssertBitExact(n, a.Tensors[n].ReadFloats(), expected);
        }
        Assert.Equal(StDType.F16, a.Tensors["visual.conv1.weight"].DType);
    }

    [Fact]
    public void ReadsTorchScriptModuleTreeAsStateDict()
    {
        using var a = TorchArchive.Open(File("jit.pt"));
        Assert.True(a.IsTorchScript);
        var expected = Names("sd").Where(n => n != "prompt_text_projection").ToHashSet();
        Assert.Subset(a.Tensors.Keys.ToHashSet(), expected);
        Assert.Equal(expected.Count, a.Tensors.Count); // the traced attn_mask constant is not a module attribute
        Assert.Equal(StDType.F16, a.Tensors["visual.transformer.resblocks.1.attn.in_proj_weight"].DType);
        Assert.Equal(StDType.F32, a.Tensors["visual.transformer.resblocks.1.ln_1.weight"].DType);
        Assert.Equal(StDType.I64, a.Tensors["input_resolution"].DType);
        foreach (var n in Names("expect16").Where(n => n != "visual.positional_embedding"))
            AssertBitExact(n, a.Tensors[n].ReadFloats(), Values("expect16", n));
        AssertBitExact("visual.positional_embedding", a.Tensors["visual.positional_embedding"].ReadFloats(), Values("sd", "visual.positional_embedding"));
    }

    [Fact]
    public void FlattensWrappersAndOptimizerState()
    {
        using (var a = TorchArchive.Open(File("wrapped.pt")))
            AssertBitExact("wrapped", a.Tensors["state_dict.visual.conv1.weight"].ReadFloats(), Values("sd", "visual.conv1.weight"));
        using var b = TorchArchive.Open(File("openclip.pt"));
        Assert.Contains("state_dict.module.visual.conv1.weight", b.Tensors.Keys);
        Assert.Contains("optimizer.state.0.exp_avg", b.Tensors.Keys);
    }

    [Theory]
    [InlineData("evil_global.pt", "os.system")]
    [InlineData("evil_stack_global.pt", "builtins.eval")]
    public void RefusesForeignGlobals(string file, string global)
    {
        var e = Assert.Throws<InvalidDataException>(() => TorchArchive.Open(File(file)));
        Assert.Contains($"refusing to load global '{global}'", e.Message);
        Assert.Contains(file, e.Message);
    }

    [Theory]
    [InlineData("absurd_length.pt", "BINUNICODE length 4294967280 runs past the end")]
    [InlineData("legacy.pt", "unsupported legacy (pre-1.6, non-zip) torch.save format; re-save it with torch>=1.6")]
    [InlineData("truncated.pt", "corrupt or truncated zip archive")]
    [InlineData("truncated_entry.pt", "holds 4928 (truncated or corrupt file?)")]
    [InlineData("huge_claim.pt", "claims 100000000 bytes from")]
    public void ReportsBrokenFilesClearly(string file, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => TorchArchive.Open(File(file)));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(File(file), e.Message);
    }
}
