using System.CommandLine;
using System.Globalization;
using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Training;
using BayesPfl.Engine.Weights;
using BayesPfl.Host;
using SixLabors.ImageSharp;

namespace BayesPfl.Cli;

/// <summary>What one `bayespfl train` run needs (the demo fills it in too).</summary>
internal sealed record TrainSettings(string Layout, string Root, string Clip, string Out)
{
    public string? HeadInit { get; init; }

    public int Epochs { get; init; } = StageControl.MaxEpochs;

    public int Batch { get; init; } = 32;

    /// <summary>The augmentations of spec 9.6 (and the MVTec mosaic); off trains on the images as they are.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Train on anomalous images without a mask as if their mask were empty (with a warning), instead of refusing.</summary>
    public bool AllowMissingMasks { get; init; }

    /// <summary>Multiplies every base learning rate (TrainerOptions.LrScale).</summary>
    public double LrScale { get; init; } = 1;

    public ulong Seed { get; init; } = 333;

    public DetectorDevice Device { get; init; } = DetectorDevice.Auto;

    public string? Resume { get; init; }

    public IReadOnlyList<string>? Categories { get; init; }

    /// <summary>Null: source-only validation (a hold-out of the training dataset, the zero-shot default).</summary>
    public string? ValidationRoot { get; init; }

    public string ValidationLayout { get; init; } = "auto";

    public IReadOnlyList<string>? ValidationCategories { get; init; }
}

/// <summary>
/// `bayespfl train`: trains the Bayes-PFL head on a dataset's test split (spec 9) with the <see cref="Trainer"/>:
/// progress bars, a checkpoint per epoch in OUT/checkpoints, OUT/best.head.safetensors, OUT/final.head.safetensors
/// (the best head, loadable by infer and eval) and OUT/train-log.jsonl. Validation after every epoch is by default
/// on a seeded hold-out of the training dataset (source-only: model selection never sees the target data, so the
/// evaluation stays zero-shot); --validation-root selects the reference's protocol, categories of the target dataset.
/// --epochs caps the spec's 30 epochs without changing the schedule, which still spans 30.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var dataset = CommonOptions.Layout("--dataset", "training dataset layout");
        var root = new Option<string>("--root") { Description = "training dataset root (its test split trains, spec 9.1)", Required = true };
        var clip = new Option<string>("--clip") { Description = "CLIP engine file (frozen)", Required = true };
        var headInit = new Option<string?>("--head-init") { Description = "head engine file to start from (default: the initialisation of spec 9.4)" };
        var output = new Option<string>("--out") { Description = "output folder", Required = true };
        var epochs = new Option<int>("--epochs") { Description = $"at most this many epochs (1..{StageControl.MaxEpochs}); early stopping may end sooner", DefaultValueFactory = _ => StageControl.MaxEpochs };
        var batch = new Option<int>("--batch") { Description = "images per step", DefaultValueFactory = _ => 32 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the initialisation, shuffling, augmentation, bank index and flow noise", DefaultValueFactory = _ => 333 };
        var lrScale = new Option<double>("--lr-scale") { Description = "multiply every base learning rate (1 = the paper's; a tiny model trained for minutes needs ~30)", DefaultValueFactory = _ => 1 };
        var allowMissingMasks = new Option<bool>("--allow-missing-masks")
        {
            Description = "train on anomalous images that have no mask as if the mask were empty (a warning names them); default: refuse before training",
        };
        var noAugment = new Option<bool>("--no-augment") { Description = "train without the augmentations of spec 9.6 (rotations, colour, noise, blur, MVTec mosaic)" };
        var device = CommonOptions.Device();
        var resume = new Option<string?>("--resume") { Description = "continue from OUT/checkpoints/epoch_E.safetensors (same dataset, batch and seed)" };
        var categories = new Option<string?>("--categories") { Description = "comma-separated training categories (default: all)" };
        var sourceOnly = new Option<bool>("--source-only-validation") { Description = "validate on a hold-out of the training dataset (the default)" };
        var validationRoot = new Option<string?>("--validation-root") { Description = "validate on categories of this (target) dataset instead (the reference's protocol)" };
        var validationDataset = CommonOptions.Layout("--validation-dataset", "layout of --validation-root");
        var validationCategories = new Option<string?>("--validation-categories") { Description = "comma-separated validation categories (default: the reference's five for MVTec or VisA)" };
        var command = new Command("train", "Train the Bayes-PFL head (prompt flows, RCA, class mapping) on a dataset")
        {
            dataset, root, clip, headInit, output, epochs, batch, lrScale, noAugment, allowMissingMasks, seed, device, resume, categories,
            sourceOnly, validationRoot, validationDataset, validationCategories,
        };
        command.Validators.Add(r =>
        {
            var vRoot = r.GetValue(validationRoot);
            if (r.GetValue(sourceOnly) && vRoot is not null) r.AddError("--source-only-validation and --validation-root exclude each other");
            if (vRoot is null && (r.GetResult(validationDataset) is { Implicit: false } || r.GetValue(validationCategories) is not null))
                r.AddError("--validation-dataset and --validation-categories need --validation-root");
        });
        epochs.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > StageControl.MaxEpochs) r.AddError($"--epochs must be 1..{StageControl.MaxEpochs}");
        });
        lrScale.Validators.Add(r =>
        {
            if (!(r.GetValueOrDefault<double>() is > 0 and < double.PositiveInfinity)) r.AddError("--lr-scale must be a positive number");
        });
        batch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1) r.AddError("--batch must be at least 1");
        });
        command.SetAction(r => Run(new TrainSettings(r.GetValue(dataset)!, r.GetValue(root)!, r.GetValue(clip)!, r.GetValue(output)!)
        {
            HeadInit = r.GetValue(headInit),
            Epochs = r.GetValue(epochs),
            Batch = r.GetValue(batch),
            LrScale = r.GetValue(lrScale),
            Augment = !r.GetValue(noAugment),
            AllowMissingMasks = r.GetValue(allowMissingMasks),
            Seed = r.GetValue(seed),
            Device = CommonOptions.ParseDevice(r.GetValue(device)!),
            Resume = r.GetValue(resume),
            Categories = List(r.GetValue(categories)),
            ValidationRoot = r.GetValue(validationRoot),
            ValidationLayout = r.GetValue(validationDataset)!,
            ValidationCategories = List(r.GetValue(validationCategories)),
        }));
        return command;
    }

    private static int Run(TrainSettings s)
    {
        try
        {
            var result = Train(s);
            Console.WriteLine($"best head (stage {(int)result.BestStage}, pixel AP {F(result.BestMetrics?.PixelAp)}, image AP {F(result.BestMetrics?.ImageAp)}): {result.BestHead}");
            Console.WriteLine($"final model: {result.FinalHead}");
            return 0;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"bayespfl train: {e.Message}");
            return 1;
        }
    }

    /// <summary>Opens everything, trains, writes the outputs; errors surface as exceptions naming the file or option at fault.</summary>
    internal static TrainerResult Train(TrainSettings s)
    {
        if (s.Resume is not null && !File.Exists(s.Resume)) throw new FileNotFoundException($"--resume {s.Resume}: no such checkpoint");
        var masks = s.AllowMissingMasks ? MissingMaskPolicy.Warn : MissingMaskPolicy.Error;
        var source = DatasetReader.Open(s.Root, CommonOptions.ParseLayout(s.Layout), new DatasetOptions { Categories = s.Categories, MissingMask = masks });
        var plan = s.ValidationRoot is null
            ? ValidationPlan.SourceOnly(source, seed: s.Seed)
            : ValidationPlan.TargetCategories(source, s.ValidationRoot, s.ValidationCategories, CommonOptions.ParseLayout(s.ValidationLayout));
        var set = TrainingSet.Open(plan.Training, new TrainingSetOptions { MissingMask = masks });
        foreach (var w in source.Warnings.Concat(set.Warnings)) Console.Error.WriteLine($"bayespfl train: warning: {w}");
        using var backend = DeviceBackends.Open(s.Device);
        using var clipFile = SafeTensorsFile.Open(s.Clip);
        using var clip = ClipWeights.Load(clipFile, backend);
        using var parameters = s.HeadInit is null
            ? HeadParameters.Initialize(backend, HeadConfigFor(clip.Config), s.Seed)
            : LoadHead(backend, s.HeadInit);
        HeadFile.CheckAgainst(parameters.Config, clip.Config, s.HeadInit ?? "(initialised head)", s.Clip);
        using var loader = new TrainingLoader(set, new TrainingLoaderOptions { BatchSize = s.Batch, ImageSize = clip.Config.Vision.ImageSize, Seed = s.Seed, Augment = s.Augment });
        using var step = new TrainStep(backend, clip, parameters);
        var validation = new ValidationSet(clip, plan.Validation.Categories, s.Seed);
        Console.WriteLine($"backend {backend.Name}; training on {loader.Count} images of {set.Dataset.Categories.Count} categories, " +
            $"{loader.BatchesPerEpoch} batches of {s.Batch} per epoch; validating ({plan.Mode}) on {validation.Images} images of " +
            $"{string.Join(", ", plan.Validation.Categories.Select(c => c.Name))}; at most {s.Epochs} epochs");
        using var progress = new TrainProgress(s.Epochs);
        using var trainer = new Trainer(step, new LoaderSource(loader), validation, new TrainerOptions
        {
            OutDir = s.Out,
            Seed = s.Seed,
            MaxEpochs = s.Epochs,
            LrScale = s.LrScale,
            ClipFile = s.Clip,
            OnStep = progress.Step,
            OnEpoch = progress.Epoch,
        });
        if (s.Resume is not null)
        {
            trainer.Resume(s.Resume);
            Console.WriteLine($"resumed from {s.Resume}");
        }
        return progress.Show(() => trainer.Run());
    }

    /// <summary>The head of spec 12.1 scaled to a CLIP config: joint width, the tapped width, and the reference's vision_width / 2 hidden layers.</summary>
    internal static HeadConfig HeadConfigFor(ClipConfig clip) => new()
    {
        Embed = clip.EmbedDim,
        VisionWidth = clip.Vision.Width,
        Hidden = clip.Vision.Width / 2,
        FuseHidden = clip.Vision.Width / 2,
    };

    private static HeadParameters LoadHead(IBackend backend, string path)
    {
        using var file = SafeTensorsFile.Open(path);
        return HeadParameters.Load(backend, file);
    }

    /// <summary>The data helper's loader already has the shape the trainer asks for.</summary>
    private sealed class LoaderSource(TrainingLoader loader) : IBatchSource
    {
        public int BatchesPerEpoch => loader.BatchesPerEpoch;

        public IEnumerable<TrainBatch> Epoch(int epoch, int startBatch) => loader.Epoch(epoch, startBatch);
    }

    private static string[]? List(string? csv) => csv?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    internal static string F(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("F4", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>Failures a user can fix (paths, files, options, data): one line and exit code 1, no stack trace.</summary>
    internal static bool IsUserError(Exception e) =>
        e is DatasetException or IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException
            or ArgumentException or UnknownImageFormatException or NotSupportedException;
}
