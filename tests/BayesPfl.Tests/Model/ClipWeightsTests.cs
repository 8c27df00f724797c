using System.Text;
using System.Text.Json;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;
using BayesPfl.Engine.Weights.Convert;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

public class ClipWeightsTests
{
    [Fact]
    public void LoadsTheOracleFileAndItsConfig()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), "--image", "42", "--patch", "7", "--width", "96", "--layers", "3", "--heads", "3",
            "--text-width", "64", "--text-layers", "2", "--text-heads", "4", "--vocab", "321", "--embed", "40", "--gelu", "quick");
        var expected = new ClipConfig
        {
            Vision = new VisionConfig { ImageSize = 42, Patch = 7, Width = 96, Layers = 3, Heads = 3, MlpWidth = 384 },
            Text = new TextConfig { ContextLength = 77, VocabSize = 321, Width = 64, Layers = 2, Heads = 4, MlpWidth = 256 },
            EmbedDim = 40,
            Gelu = "quick",
        };
        // Record equality compares the nested records too: every snake_case key the oracle wrote was understood.
        Assert.Equal(expected, c.Config);
        Assert.Equal(Engine.Backends.GeluKind.Quick, c.Weights.Gelu);
        Assert.Equal(3, c.Weights.Vision.Blocks.Count);

        // Tensors arrive unchanged; the two projections are stored transposed ([E,W]) for Linear.
        var conv = c.Download(c.Weights.Vision.Conv1);
        Assert.Equal(c.WeightsFile.ReadFloats(ClipTensorNames.VisualConv1), conv);
        var proj = c.WeightsFile.ReadFloats(ClipTensorNames.VisualProj);
        var projT = c.Download(c.Weights.Vision.ProjT);
        Assert.Equal([40, 96], c.Weights.Vision.ProjT.Shape.Dims.ToArray());
        Assert.Equal(proj[5 * 40 + 7], projT[7 * 96 + 5]);
        var inProj = c.WeightsFile.ReadFloats(ClipTensorNames.TextBlock(1) + ClipTensorNames.Block.InProjWeight);
        Assert.Equal(inProj.AsSpan(2 * 64 * 64, 64 * 64).ToArray(), c.Download(c.Weights.Text.Blocks[1].VWeight));
    }

    [Fact]
    public void ExpectedNamesCoverEveryTensorOfViTL14()
    {
        var names = ClipTensorNames.Expected(ClipConfig.VitL14At518);
        // 5 + 24x12 + 3 vision tensors, 2 + 12x12 + 3 text tensors.
        Assert.Equal(5 + 24 * 12 + 3 + 2 + 12 * 12 + 3, names.Count);
        Assert.Equal(names.Count, names.Select(n => n.Name).Distinct().Count());
        // The spec's parameter count of the 518-px vision tower (§12.2).
        Assert.Equal(305_105_920, names.Where(n => n.Name.StartsWith("visual.", StringComparison.Ordinal)).Sum(n => n.Shape.Aggregate(1L, (a, d) => a * d)));
        Assert.Equal([1370, 1024], names.Single(n => n.Name == ClipTensorNames.VisualPositionalEmbedding).Shape);
        Assert.Equal([3072, 1024], names.Single(n => n.Name == "visual.transformer.resblocks.23.attn.in_proj_weight").Shape);
        Assert.Equal([768, 3072], names.Single(n => n.Name == "transformer.resblocks.11.mlp.c_proj.weight").Shape);
    }

    [Fact]
    public void ListsEveryMissingExtraAndMisShapedTensorAtOnce()
    {
        // A ViT-B/16 checkpoint (224 px, 12 layers, width 768) offered to the ViT-L/14 at 518 config. The file
        // is sparse (header plus a hole), so the real shapes cost no disk or memory: the check reads no data.
        var vitB = new ClipConfig
        {
            Vision = new VisionConfig { ImageSize = 224, Patch = 16, Width = 768, Layers = 12, Heads = 12, MlpWidth = 3072 },
            Text = new TextConfig { Width = 512, Heads = 8, MlpWidth = 2048 },
            EmbedDim = 512,
        };
        var tensors = ClipTensorNames.Expected(vitB).Where(t => t.Name != ClipTensorNames.LnFinalBias).ToList();
        tensors.Add(("logit_scale", []));
        tensors.Add(("input_resolution", []));
        var path = Path.Combine(Repo.TempDir("clipw"), "vit-b-16.safetensors");
        WriteSparse(path, tensors, vitB);

        using var file = SafeTensorsFile.Open(path);
        var e = Assert.Throws<InvalidDataException>(() => ClipWeights.Load(file, TestBackends.Cpu(), ClipConfig.VitL14At518));
        var lines = e.Message.Split('\n');
        Assert.StartsWith(path + ": tensors do not match the CLIP config (vision 518px/14 w1024 L24", lines[0]);
        // Missing: 12 vision blocks x 12 tensors, plus ln_final.bias. Extra: the two scalars. Mis-shaped: every
        // other tensor, since both widths differ.
        var missing = lines.Count(l => l.StartsWith("  missing ", StringComparison.Ordinal));
        var extra = lines.Count(l => l.StartsWith("  extra ", StringComparison.Ordinal));
        var misShaped = lines.Count(l => l.StartsWith("  mis-shaped ", StringComparison.Ordinal));
        Assert.Equal(12 * 12 + 1, missing);
        Assert.Equal(2, extra);
        Assert.Equal(ClipTensorNames.Expected(vitB).Count - 1, misShaped);
        Assert.Contains($"{missing} missing, {extra} extra, {misShaped} mis-shaped", lines[0]);
        Assert.Contains("  missing    visual.transformer.resblocks.23.mlp.c_proj.bias [1024]", lines);
        Assert.Contains("  missing    ln_final.bias [768]", lines);
        Assert.Contains("  extra      logit_scale []", lines);
        Assert.Contains("  mis-shaped visual.conv1.weight: file [768,3,16,16], config [1024,3,14,14]", lines);
        Assert.Contains("  mis-shaped visual.positional_embedding: file [197,768], config [1370,1024]", lines);
        Assert.Contains("  mis-shaped text_projection: file [512,512], config [768,768]", lines);
    }

    [Fact]
    public void RejectsFilesWithoutAUsableConfig()
    {
        var dir = Repo.TempDir("clipw");
        var none = Path.Combine(dir, "none.safetensors");
        new SafeTensorsWriter().Add("x", [1f], 1).Save(none);
        using (var f = SafeTensorsFile.Open(none))
            Assert.Contains($"{none}: not a CLIP engine file", Assert.Throws<InvalidDataException>(() => ClipWeights.ReadConfig(f)).Message);

        var bad = Path.Combine(dir, "bad.safetensors");
        var broken = new ClipConfig { Vision = new VisionConfig { Width = 1000, Heads = 16 }, Gelu = "tanh" };
        new SafeTensorsWriter().Metadata(ClipConfig.FormatKey, ClipConfig.FormatValue).Metadata(ClipConfig.MetadataKey, broken.ToJson())
            .Add("x", [1f], 1).Save(bad);
        using (var f = SafeTensorsFile.Open(bad))
        {
            var m = Assert.Throws<InvalidDataException>(() => ClipWeights.ReadConfig(f)).Message;
            Assert.Contains(bad, m);
            Assert.Contains("vision.width 1000 is not a multiple of vision.heads 16", m);
            Assert.Contains("gelu is \"tanh\"", m);
        }
    }

    [Fact]
    public void TheConvertersOutputLoadsAndRuns()
    {
        // A tiny OpenAI-style state_dict written by torch.save (tests/reference/torch_archives.py), converted for 70 px.
        var path = Path.Combine(Repo.TempDir("clipw"), "converted.safetensors");
        ClipConverter.Convert(Weights.Torch.TorchArchiveFiles.File("sd_f32.pt"), path, new ConvertOptions { ImageSize = 70, TextHeads = 2 });
        using var file = SafeTensorsFile.Open(path);
        using var backend = TestBackends.Cpu();
        using var weights = ClipWeights.Load(file, backend);
        using var vision = new VisionTower(backend, weights);
        using var images = backend.Allocate(new Shape(1, 3, 70, 70), "images");
        backend.Upload(images, FiniteDiff.RandomFloats(3 * 70 * 70, 1));
        using var f = vision.Encode(images, [1, weights.Config.Vision.Layers]);
        var g = new float[f.Global.Length];
        backend.Download(f.Global, g);
        TensorAssert.AllFinite("global embedding of the converted model", g);
        using var text = new TextTower(backend, weights);
        var ids = new int[77];
        (ids[0], ids[1], ids[2], ids[3]) = (weights.Config.Text.VocabSize - 2, 5, 6, weights.Config.Text.VocabSize - 1);
        using var t = text.Encode(ids);
        Assert.Equal([1, weights.Config.EmbedDim], t.Shape.Dims.ToArray());
    }

    /// <summary>A safetensors file with the given names and shapes (F32) whose data section is a hole.</summary>
    private static void WriteSparse(string path, IEnumerable<(string Name, int[] Shape)> tensors, ClipConfig config)
    {
        var header = new StringBuilder("{\"__metadata__\":{");
        header.Append(JsonSerializer.Serialize(ClipConfig.FormatKey)).Append(':').Append(JsonSerializer.Serialize(ClipConfig.FormatValue)).Append(',');
        header.Append(JsonSerializer.Serialize(ClipConfig.MetadataKey)).Append(':').Append(JsonSerializer.Serialize(config.ToJson())).Append('}');
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            var bytes = 4 * shape.Aggregate(1L, (a, d) => a * d);
            header.Append($",\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + bytes}]}}");
            offset += bytes;
        }
        header.Append('}');
        var json = Encoding.UTF8.GetBytes(header.ToString());
        using var fs = new FileStream(path, FileMode.CreateNew);
        fs.Write(BitConverter.GetBytes((ulong)json.Length));
        fs.Write(json);
        fs.SetLength(8 + json.Length + offset);
    }
}
