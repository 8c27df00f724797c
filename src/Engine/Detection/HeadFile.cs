using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Engine.Detection;

/// <summary>
/// Reads a head engine file's sizes from its tensor shapes (the file carries no config) and checks them
/// against the CLIP model it is paired with, so that a head trained for another backbone fails with one
/// clear message instead of a shape error deep inside a kernel.
/// </summary>
public static class HeadFile
{
    /// <summary>Metadata key of a trained head file: "1" for a stage-1 head (image branch on normalise(g)), "2" otherwise.</summary>
    public const string StageKey = "bayespfl.head_stage";

    /// <summary>Metadata key naming the CLIP engine file a head was trained with, relative to the head file's folder.</summary>
    public const string ClipKey = "bayespfl.clip";

    /// <summary>The CLIP file <paramref name="headPath"/> records (absolute), or null when it records none.</summary>
    public static string? RecordedClip(string headPath)
    {
        using var file = SafeTensorsFile.Open(headPath);
        if (!file.Metadata.TryGetValue(ClipKey, out var relative)) return null;
        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(headPath))!, relative));
    }

    /// <summary>
    /// The CLIP file to pair with a head: the one given, else the one the head records (checked to exist), else an
    /// error that says to give --clip.
    /// </summary>
    public static string ResolveClip(string? given, string headPath)
    {
        if (given is not null) return given;
        var recorded = RecordedClip(headPath)
            ?? throw new InvalidDataException($"{headPath} records no CLIP file (only heads written by `bayespfl train` do); give --clip");
        return File.Exists(recorded) ? recorded
            : throw new FileNotFoundException($"{headPath} was trained with the CLIP file {recorded}, which does not exist; give --clip");
    }

    public static HeadConfig InferConfig(SafeTensorsFile file)
    {
        var config = InferConfig(name => file.Contains(name) ? file.Entry(name).Shape : null, file.Path);
        if (!file.Metadata.TryGetValue(StageKey, out var stage)) return config;
        return stage switch
        {
            "1" => config with { Stage2 = false },
            "2" => config,
            _ => throw new InvalidDataException($"{file.Path}: metadata {StageKey} is \"{stage}\", expected \"1\" or \"2\""),
        };
    }

    /// <summary>Sizes from the tensor shapes <paramref name="shapeOf"/> returns (null: no such tensor).</summary>
    public static HeadConfig InferConfig(Func<string, int[]?> shapeOf, string path)
    {
        int[] Shape(string name) => shapeOf(name) ?? throw new InvalidDataException($"{path}: not a Bayes-PFL head: no tensor '{name}'");
        var prompts = Shape("prompt_context");
        var taps = 0;
        while (shapeOf($"RCA.linear_proj.{taps}.weight") is not null) taps++;
        if (prompts.Length != 3 || taps == 0)
            throw new InvalidDataException($"{path}: not a Bayes-PFL head: prompt_context is [{string.Join(",", prompts)}], {taps} RCA.linear_proj tensors");
        return new HeadConfig
        {
            Bank = prompts[0],
            Tokens = prompts[1],
            Embed = prompts[2],
            Hidden = Shape("context_encoder.weight_mean.module.0.weight")[0],
            VisionWidth = Shape("RCA.linear_proj.0.weight")[1],
            Taps = taps,
            Steps = Shape("PFL_context.amor_b.weight")[0],
            FuseHidden = Shape("fuse.fuse_modules.weight")[0],
        };
    }

    /// <summary>Throws naming both files when the head's widths do not fit the CLIP config.</summary>
    public static void CheckAgainst(HeadConfig head, ClipConfig clip, string headPath, string clipPath)
    {
        var problems = new List<string>();
        if (head.VisionWidth != clip.Vision.Width) problems.Add($"head taps are {head.VisionWidth} wide, the image tower is {clip.Vision.Width} wide");
        if (head.Embed != clip.EmbedDim) problems.Add($"head embedding is {head.Embed} wide, CLIP's joint embedding is {clip.EmbedDim}");
        if (head.Embed != clip.Text.Width) problems.Add($"head prompt vectors are {head.Embed} wide, the text tower is {clip.Text.Width} wide");
        if (head.Taps > clip.Vision.Layers) problems.Add($"head expects {head.Taps} tapped layers, the image tower has {clip.Vision.Layers}");
        if (problems.Count > 0)
            throw new InvalidDataException($"head {headPath} does not fit CLIP {clipPath}: " + string.Join("; ", problems));
    }

    /// <summary>The config's evenly spaced tap layers (1-based): 6, 12, 18, 24 for 4 taps of 24 layers.</summary>
    public static int[] TapLayers(int layers, int taps) =>
        Enumerable.Range(1, taps).Select(j => j * layers / taps).ToArray();
}
