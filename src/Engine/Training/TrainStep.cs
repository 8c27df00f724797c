using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Text;

namespace BayesPfl.Engine.Training;

/// <summary>
/// One training step of spec 9 on any backend: the frozen image tower (forward only) gives g and the taps; the
/// prompt flows sample one context vector per image and one normal and one abnormal state vector for the batch
/// (spec 5.5); the text tower runs the 2·B·N spliced prompts (each image with its own class name); the head
/// computes the losses; then the backward runs in reverse order: head → L2 normalisation of the text features
/// → text tower (input gradients only) → prompt flows (with the KL). Stage 2 trains the classification branch
/// only (spec 9.3), so it stops after the head.
/// </summary>
public sealed class TrainStep : ITrainStep
{
    private readonly IBackend backend;
    private readonly ClipWeights clip;
    private readonly VisionTower vision;
    private readonly TextTowerTraining text;
    private readonly PromptFlowTraining flows;
    private readonly HeadLossTraining head;
    private readonly int[] tapLayers;
    private readonly Dictionary<string, int[]> promptIds = new(StringComparer.Ordinal);

    public TrainStep(IBackend backend, ClipWeights clip, HeadParameters parameters)
    {
        HeadFile.CheckAgainst(parameters.Config, clip.Config, "the trained head", "the CLIP model");
        this.backend = backend;
        this.clip = clip;
        Parameters = parameters;
        vision = new VisionTower(backend, clip);
        text = new TextTowerTraining(backend, clip);
        flows = new PromptFlowTraining(backend, parameters);
        head = new HeadLossTraining(backend, parameters);
        tapLayers = HeadFile.TapLayers(clip.Config.Vision.Layers, parameters.Config.Taps);
    }

    public HeadParameters Parameters { get; }

    /// <summary>
    /// Called at the phase boundaries of <see cref="Run"/> (for benchmarks): "vision" after the image tower,
    /// "forward" after the prompt flows and the text tower, "head" after the head's losses and their backward,
    /// "backward" after the text tower and flow backward (stage 1 only).
    /// </summary>
    public Action<string>? Mark { get; set; }

    /// <summary>Bytes the text tower and the head keep for their backward after the last step (memory plan).</summary>
    public long SavedBytes => text.SavedBytes + head.SavedBytes;

    public StepLosses Run(TrainBatch batch, int bankIndex, ReadOnlySpan<float> noise, TrainingStage stage)
    {
        var cfg = Parameters.Config;
        int n = batch.Count, s = clip.Config.Vision.ImageSize, c = cfg.Embed, prompts = 2 * cfg.Bank * n;
        const string op = "TrainStep";
        Check.That(n > 0, op, "the batch is empty");
        Check.That(batch.ImageSize == s, op, $"batch images are {batch.ImageSize} px, the CLIP model takes {s}");
        Check.That(batch.Images.Length == (long)n * 3 * s * s && batch.Masks.Length == (long)n * s * s && batch.ClassNames.Length == n,
            op, $"batch of {n}: {batch.Images.Length} image values, {batch.Masks.Length} mask values, {batch.ClassNames.Length} class names");
        Check.That(bankIndex >= 0 && bankIndex < cfg.Bank, op, $"bank index {bankIndex} is outside 0..{cfg.Bank - 1}");
        Check.That(noise.Length == (n + 2) * c, op, $"noise has {noise.Length} values, expected (N+2)·C = {(n + 2) * c}");
        Check.That(stage is TrainingStage.One or TrainingStage.Two, op, $"stage {stage} does not train");

        using var images = Upload(batch.Images, new Shape(n, 3, s, s), "train.images");
        using var masks = Upload(batch.Masks, new Shape(n, s, s), "train.masks");
        using var eps = Upload(noise, new Shape(n + 2, c), "train.eps");
        using var features = vision.Encode(images, tapLayers);
        Mark?.Invoke("vision");
        using var blocks = backend.Allocate(new Shape(prompts, 2 * cfg.Tokens, c), "train.prompt_blocks");
        var dist = flows.Forward(blocks, features.Global, eps);
        using var embeddings = text.Forward(PromptIds(batch.ClassNames, cfg.Bank), blocks);
        using var norms = backend.Allocate(new Shape(prompts), "train.text_norms");
        using var normalised = backend.Allocate(embeddings.Shape, "train.text");
        backend.L2Normalize(normalised, norms, embeddings);
        Mark?.Invoke("forward");
        using var dtext = backend.Allocate(embeddings.Shape, "train.dtext");
        var losses = head.Run(dtext, normalised, features.Global, features.Taps, batch.Labels, masks, bankIndex, stage);
        Mark?.Invoke("head");
        if (stage == TrainingStage.Two) return new StepLosses(losses.Cls, losses.Focal, losses.Dice, 0, 0);

        using var dembeddings = backend.Allocate(embeddings.Shape, "train.dembeddings");
        backend.L2NormalizeBackward(dembeddings, dtext, normalised, norms);
        using var dblocks = backend.Allocate(blocks.Shape, "train.dprompt_blocks");
        text.Backward(dblocks, dembeddings);
        flows.Backward(dblocks);
        Mark?.Invoke("backward");
        return new StepLosses(losses.Cls, losses.Focal, losses.Dice, dist, losses.Orth);
    }

    /// <summary>Token ids [2·B·N, ContextLength] in PromptBlocks order: row half·B·N + i·B + b holds image i's "X name".</summary>
    private int[] PromptIds(string[] classNames, int bank)
    {
        int n = classNames.Length, ctx = clip.Config.Text.ContextLength;
        var ids = new int[2 * bank * n * ctx];
        for (var half = 0; half < 2; half++)
            for (var i = 0; i < n; i++)
            {
                var row = Tokens(classNames[i]);
                for (var b = 0; b < bank; b++) row.CopyTo(ids, ((half * bank * n) + i * bank + b) * ctx);
            }
        return ids;
    }

    private int[] Tokens(string className)
    {
        if (!promptIds.TryGetValue(className, out var ids))
            promptIds[className] = ids = ClipTokenizer.Default.Tokenize(ClassNames.Prompt(className), clip.Config.Text.ContextLength);
        return ids;
    }

    private Tensor Upload(ReadOnlySpan<float> data, Shape shape, string name)
    {
        var t = backend.Allocate(shape, name);
        backend.Upload(t, data);
        return t;
    }

    public void Dispose()
    {
        head.Dispose();
        flows.Dispose();
        text.Dispose();
        vision.Dispose();
    }
}
