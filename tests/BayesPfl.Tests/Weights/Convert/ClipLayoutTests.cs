using BayesPfl.Engine.Model;
using BayesPfl.Engine.Weights.Convert;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Weights.Torch.TorchArchiveFiles;

namespace BayesPfl.Tests.Weights.Convert;

public class ClipLayoutTests
{
    private static ClipConfig VitB16 => new()
    {
        Vision = new VisionConfig { ImageSize = 224, Patch = 16, Width = 768, Layers = 12, Heads = 12, MlpWidth = 3072 },
        Text = new TextConfig { Width = 512, Layers = 12, Heads = 8, MlpWidth = 2048 },
        EmbedDim = 512,
    };

    private static Dictionary<string, int[]> Shapes(ClipConfig c, int grid) => ClipLayout.Expected(c, grid).ToDictionary(e => e.Name, e => e.Shape);

    [Fact]
    public void InfersViTBFromItsShapes()
    {
        var r = ClipLayout.Resolve(Shapes(VitB16, 14), new ConvertOptions { ImageSize = 224 });
        Assert.Empty(r.Problems);
        Assert.Equal(VitB16 with { Gelu = "erf" }, r.Config);
        Assert.Equal(14, r.SourceGrid);
    }

    [Fact]
    public void ViTBAgainstViTLExpectationListsEveryMismatch()
    {
        var r = ClipLayout.Resolve(Shapes(VitB16, 14), new ConvertOptions { Expect = ClipConfig.VitL14At518 });
        var expectedL = ClipLayout.Expected(ClipConfig.VitL14At518, 14).ToList();
        // Every ViT-L tensor is wrong in some way (all widths differ) and nothing else is: one line each.
        Assert.Equal(expectedL.Count, r.Problems.Count);
        Assert.Contains("visual.conv1.weight has shape [768,3,16,16], expected [1024,3,14,14]", r.Problems);
        Assert.Contains("visual.positional_embedding has shape [197,768], expected [197,1024]", r.Problems);
        Assert.Contains("missing visual.transformer.resblocks.23.mlp.c_proj.bias [1024]", r.Problems);
        Assert.Contains("transformer.resblocks.11.attn.in_proj_weight has shape [1536,512], expected [2304,768]", r.Problems);
        Assert.Contains("text_projection has shape [512,512], expected [768,768]", r.Problems);
        Assert.Equal(12 * 12, r.Problems.Count(p => p.StartsWith("missing visual.transformer.resblocks.", StringComparison.Ordinal)));
    }

    [Fact]
    public void InconsistentMissingAndExtraTensorsAreAllListed()
    {
        var shapes = Shapes(VitB16, 14);
        shapes["transformer.resblocks.3.mlp.c_fc.weight"] = [2000, 512];
        shapes.Remove("visual.ln_post.bias");
        shapes["visual.head.weight"] = [10, 512];
        var r = ClipLayout.Resolve(shapes, new ConvertOptions { ImageSize = 224 });
        Assert.Equal(
            ["missing visual.ln_post.bias [768]", "transformer.resblocks.3.mlp.c_fc.weight has shape [2000,512], expected [2048,512]", "unexpected visual.head.weight [10,512]"],
            r.Problems);
    }

    [Fact]
    public void ConverterReportsMismatchAndWritesNothing()
    {
        var output = Path.Combine(Repo.TempDir("convert"), "clip.safetensors");
        var e = Assert.Throws<ClipMismatchException>(() => ClipConverter.Convert(File("hf.safetensors"), output, new ConvertOptions { Expect = ClipConfig.VitL14At518 }));
        Assert.Contains("visual.conv1.weight has shape [64,3,14,14], expected [1024,3,14,14]", e.Message);
        Assert.Contains("missing visual.transformer.resblocks.2.attn.in_proj_weight [3072,1024]", e.Problems);
        Assert.StartsWith(File("hf.safetensors"), e.Message);
        Assert.False(System.IO.File.Exists(output));
    }

    [Fact]
    public void AsksForHeadsThatCannotBeInferred()
    {
        var e = Assert.Throws<ClipMismatchException>(() => ClipConverter.Convert(File("sd_f32.pt"), Path.Combine(Repo.TempDir("convert"), "x.safetensors"), new ConvertOptions { ImageSize = 70 }));
        Assert.Equal(["cannot infer the text heads: width 32 is not a multiple of 64; set ConvertOptions.TextHeads"], e.Problems);
        e = Assert.Throws<ClipMismatchException>(() => ClipConverter.Convert(File("sd_f32.pt"), Path.Combine(Repo.TempDir("convert"), "x.safetensors"), new ConvertOptions { ImageSize = 71, TextHeads = 2 }));
        Assert.Equal(["image size 71 is not a positive multiple of the patch size 14"], e.Problems);
    }

    [Fact]
    public void RefusesFilesWithoutAClip()
    {
        var input = Path.Combine(Repo.TempDir("convert"), "other.safetensors");
        new Engine.Weights.SafeTensorsWriter().Add("encoder.conv.weight", [1f, 2f], 2).Save(input);
        var e = Assert.Throws<ClipMismatchException>(() => ClipConverter.Convert(input, input + ".out"));
        Assert.Contains("no CLIP vision tower", e.Message);
        Assert.Contains("encoder.conv.weight", e.Message);
        var legacy = Assert.Throws<InvalidDataException>(() => ClipConverter.Convert(File("legacy.pt"), input + ".out"));
        Assert.Contains("re-save it with torch>=1.6", legacy.Message);
    }

    [Fact]
    public void FindsTheModelBehindAnyPrefixAndDropsUnusedEntries()
    {
        var t = new SourceTensor([1], () => [0f]);
        var source = new Dictionary<string, SourceTensor>
        {
            ["model.module.visual.conv1.weight"] = t,
            ["model.module.transformer.resblocks.0.attn_mask"] = t,
            ["model.module.logit_scale"] = t,
            ["epoch_tensor"] = t,
        };
        var m = ClipNames.ToCanonical(source, "x.pt");
        Assert.Equal(["visual.conv1.weight"], m.Tensors.Keys);
        Assert.Equal(["transformer.resblocks.0.attn_mask", "logit_scale"], m.Dropped);
        Assert.Equal(["epoch_tensor"], m.Ignored);
        source["ema.visual.conv1.weight"] = t;
        var e = Assert.Throws<ClipMismatchException>(() => ClipNames.ToCanonical(source, "x.pt"));
        Assert.Contains("several CLIP models in one file, at", e.Message);
    }
}
