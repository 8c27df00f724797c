using System.Buffers.Binary;
using System.Text.Json;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Engine.Training;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Training;

/// <summary>
/// One run of tests/reference/train_oracle.py: PyTorch autograd trains the stage-1 head (spec 9.2) for a few
/// steps on a tiny CLIP (image 28 px / patch 7, widths 32, 4 vision layers tapped at 1..4, 2 text layers,
/// vocabulary 49408) and a 32-d head, from the engine files it writes (<see cref="ClipPath"/>,
/// <see cref="HeadPath"/>), with the data and injected noise of every step. An engine TrainStep fed
/// <see cref="Batch"/>, <see cref="BankIndex"/> and <see cref="Noise"/> must reproduce <see cref="Losses"/>,
/// the step-0 gradients <see cref="Grad0"/> and, with Adam and LrSchedule, <see cref="FinalParameter"/>.
/// All tensors are in engine shapes (HeadWeights.Table; temperatures [1]); the oracle computes in float64
/// unless "--dtype float32" is passed.
/// </summary>
public sealed class TrainOracleCase : IDisposable
{
    /// <summary>The default case (batch 3, ten steps, float64), random seed: the shared class fixture.</summary>
    public TrainOracleCase()
        : this(Oracle.Run(Script))
    {
    }

    private TrainOracleCase(SafeTensorsFile file)
    {
        File = file;
        ClipPath = File.Metadata["clip"];
        HeadPath = File.Metadata["head"];
        Classes = File.Metadata["classes"].Split(',');
        using var config = JsonDocument.Parse(File.Metadata["config"]);
        var c = config.RootElement;
        Steps = c.GetProperty("steps").GetInt32();
        BatchSize = c.GetProperty("batch").GetInt32();
        ImageSize = c.GetProperty("image").GetInt32();
        Embed = c.GetProperty("embed").GetInt32();
        Taps = c.GetProperty("taps").GetInt32();
        Bank = c.GetProperty("bank").GetInt32();
        ItersPerEpoch = c.GetProperty("iters_per_epoch").GetInt32();
        TapLayers = [.. c.GetProperty("tap_layers").EnumerateArray().Select(e => e.GetInt32())];
        ParameterNames = [.. File.Entries.OrderBy(e => e.Begin).Select(e => e.Name)
            .Where(n => n.StartsWith(Grad0Prefix, StringComparison.Ordinal)).Select(n => n[Grad0Prefix.Length..])];
    }

    private const string Script = "train_oracle.py", Grad0Prefix = "out.grad0.";

    /// <summary>Another case, e.g. ("--steps", "3", "--batch", "2", "--dtype", "float32"); <see cref="Oracle"/> picks the seed.</summary>
    public static TrainOracleCase Create(params string[] args) => new(Oracle.Run(Script, args));

    public SafeTensorsFile File { get; }

    /// <summary>CLIP engine file (clip_towers.py's writer: bayespfl-clip/1).</summary>
    public string ClipPath { get; }

    /// <summary>Head engine file: checkpoint names, file shapes, bayespfl-head/1, head stage 1.</summary>
    public string HeadPath { get; }

    /// <summary>The prompt names (spec 4.3) the batches draw from; two names of different token lengths.</summary>
    public string[] Classes { get; }

    public int Steps { get; }

    public int BatchSize { get; }

    public int ImageSize { get; }

    public int Embed { get; }

    public int Taps { get; }

    public int Bank { get; }

    public int ItersPerEpoch { get; }

    /// <summary>1-based vision layers tapped (HeadFile.TapLayers of the config).</summary>
    public int[] TapLayers { get; }

    /// <summary>Every trainable tensor, in HeadWeights.Table order (the order of HeadParameters.Names).</summary>
    public string[] ParameterNames { get; }

    /// <summary>Step t's batch: images [N,3,H,H] already CLIP-normalised, masks [N,H,H] 0/1, labels, prompt names.</summary>
    public TrainBatch Batch(int t)
    {
        var classes = File.ReadInts($"in.classes.{t}").Select(i => Classes[i]).ToArray();
        return new TrainBatch(File.ReadFloats($"in.images.{t}"), File.ReadFloats($"in.masks.{t}"),
            [.. File.ReadInts($"in.labels.{t}").Select(l => (int)l)], classes, [.. Enumerable.Range(t * BatchSize, BatchSize)], ImageSize);
    }

    /// <summary>The 77 token ids of each image's "X name" prompt, [N·77] (SOS 49406, X 343, EOT 49407).</summary>
    public long[] Ids(int t) => File.ReadInts($"in.ids.{t}");

    /// <summary>b* of step t (spec 9.1).</summary>
    public int BankIndex(int t) => (int)File.ReadInts($"in.bank.{t}")[0];

    /// <summary>(N+2)·Embed normals: rows 0..N−1 context noise of image i, row N normal state, row N+1 abnormal state.</summary>
    public float[] Noise(int t) => File.ReadFloats($"in.eps.{t}");

    /// <summary>The loss terms of step t's forward, before its update.</summary>
    public StepLosses Losses(int t)
    {
        double At(string term) => Curve(term)[t];
        return new StepLosses(At("cls"), [.. Enumerable.Range(0, Taps).Select(j => At($"focal.{j}"))],
            [.. Enumerable.Range(0, Taps).Select(j => At($"dice.{j}"))], At("dist"), At("orth"));
    }

    /// <summary>One loss term over all steps: cls, focal.j, dice.j, dist, orth or total.</summary>
    public double[] Curve(string term) => Doubles($"out.loss.{term}");

    /// <summary>Learning rates update t used, per group (prompts, temperatures, flow, rest).</summary>
    public double[] LearningRates(int t) => Doubles("out.lr")[(4 * t)..(4 * t + 4)];

    /// <summary>d L_stage1 / d name at step 0 (engine shape; zeros for fuse and image_mapping, untouched in stage 1).</summary>
    public float[] Grad0(string name) => File.ReadFloats(Grad0Prefix + name);

    public int[] Grad0Shape(string name) => File.Entry(Grad0Prefix + name).Shape;

    /// <summary>The parameter after the last update.</summary>
    public float[] FinalParameter(string name) => File.ReadFloats($"out.params.final.{name}");

    /// <summary>Step 0's L2-normalised text embeddings [2·B·N, C], row half·B·N + i·B + b.</summary>
    public float[] Step0Text => File.ReadFloats("out.step0.text");

    /// <summary>Step 0's global image embeddings g [N, C] (not normalised).</summary>
    public float[] Step0Global => File.ReadFloats("out.step0.g");

    /// <summary>Step 0's taps [Taps, N, P, W] (raw residual after each tap layer, CLS dropped).</summary>
    public float[] Step0Taps => File.ReadFloats("out.step0.taps");

    /// <summary>A tensor at full precision: the oracle's F64 outputs would lose digits through ReadFloats.</summary>
    public double[] Doubles(string name)
    {
        if (File.Entry(name).DType != StDType.F64) return [.. File.ReadFloats(name).Select(v => (double)v)];
        var raw = File.ReadBytes(name);
        return [.. Enumerable.Range(0, raw.Length / 8).Select(i => BinaryPrimitives.ReadDoubleLittleEndian(raw.AsSpan(8 * i)))];
    }

    public void Dispose() => File.Dispose();
}
