using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Engine.Validation;

/// <summary>
/// Runs the CLIP towers on a towers dump's inputs and compares every output it holds: the image tower on in.images
/// (out.tap.{l} for each l the dump holds, out.global), the text tower on in.ids (out.text) and the spliced text
/// tower on in.splice_ids + in.inject (out.text_spliced). Each input needs at least one of its outputs.
/// </summary>
internal static class TowerValidation
{
    /// <summary>Takes ownership of <paramref name="backend"/>, as <see cref="PipelineValidation"/> does.</summary>
    public static List<TensorCheck> Run(ReferenceDump dump, IBackend backend, string clipPath, Action<string> progress)
    {
        using var owned = backend;
        using var clipFile = SafeTensorsFile.Open(clipPath);
        using var weights = ClipWeights.Load(clipFile, backend);
        var checks = new List<TensorCheck>();
        if (dump.Contains(ReferenceNames.Images))
        {
            progress("image tower");
            Vision(dump, backend, weights, clipPath, checks);
        }
        using var text = new TextTower(backend, weights);
        if (dump.Contains(ReferenceNames.Ids))
        {
            progress("text tower");
            var ids = dump.Ints(ReferenceNames.Ids);
            var shape = dump.Require(ReferenceNames.Text, 2, ReferenceNames.Ids);
            using var features = text.Encode(ids);
            checks.Add(Compare(ReferenceNames.Text, TensorKind.Features, shape, features, dump));
        }
        if (dump.Contains(ReferenceNames.SpliceIds))
        {
            progress("spliced text tower");
            var ids = dump.Ints(ReferenceNames.SpliceIds);
            var injectShape = dump.Require(ReferenceNames.Inject, 3, ReferenceNames.SpliceIds);
            var shape = dump.Require(ReferenceNames.TextSpliced, 2, ReferenceNames.SpliceIds);
            using var inject = Upload(backend, dump, ReferenceNames.Inject, injectShape);
            using var features = text.EncodeSpliced(ids, inject);
            checks.Add(Compare(ReferenceNames.TextSpliced, TensorKind.Features, shape, features, dump));
        }
        return checks;
    }

    private static void Vision(ReferenceDump dump, IBackend backend, ClipWeights weights, string clipPath, List<TensorCheck> checks)
    {
        var cfg = weights.Config.Vision;
        var shape = dump.Require(ReferenceNames.Images, 4, "the image tower");
        if (shape[1] != 3 || shape[2] != cfg.ImageSize || shape[3] != cfg.ImageSize)
            throw new InvalidDataException($"{dump.Path}: {ReferenceNames.Images} is [{string.Join(",", shape)}], but {clipPath} runs at " +
                $"[B,3,{cfg.ImageSize},{cfg.ImageSize}] (convert the checkpoint with --image-size {shape[^1]} to match the dump)");
        var taps = TapLayers(dump, cfg.Layers);
        if (taps.Count == 0 && !dump.Contains(ReferenceNames.Global))
            throw new InvalidDataException($"{dump.Path}: holds {ReferenceNames.Images} but neither {ReferenceNames.TapPrefix}{{l}} nor {ReferenceNames.Global} to compare");
        using var tower = new VisionTower(backend, weights);
        using var images = Upload(backend, dump, ReferenceNames.Images, shape);
        using var features = tower.Encode(images, taps);
        for (var j = 0; j < taps.Count; j++)
            checks.Add(Compare(ReferenceNames.Tap(taps[j]), TensorKind.Tap, dump.Shape(ReferenceNames.Tap(taps[j])), features.Taps[j], dump));
        if (dump.Contains(ReferenceNames.Global))
            checks.Add(Compare(ReferenceNames.Global, TensorKind.Features, dump.Shape(ReferenceNames.Global), features.Global, dump));
    }

    /// <summary>The l of every out.tap.{l} in the dump, ascending; an l outside 1..layers is an error naming the tensor.</summary>
    private static List<int> TapLayers(ReferenceDump dump, int layers)
    {
        var taps = new List<int>();
        foreach (var e in dump.File.Entries.Where(e => e.Name.StartsWith(ReferenceNames.TapPrefix, StringComparison.Ordinal)))
        {
            var suffix = e.Name[ReferenceNames.TapPrefix.Length..];
            if (!int.TryParse(suffix, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var l) || l < 1 || l > layers)
                throw new InvalidDataException($"{dump.Path}: {e.Name}: the layer must be a number in 1..{layers} (1-based block index)");
            taps.Add(l);
        }
        taps.Sort();
        return taps;
    }

    private static Tensor Upload(IBackend backend, ReferenceDump dump, string name, int[] shape)
    {
        var t = backend.Allocate(new Shape(shape), name);
        try
        {
            backend.Upload(t, dump.Floats(name));
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    internal static TensorCheck Compare(string name, TensorKind kind, int[] referenceShape, Tensor engine, ReferenceDump dump)
    {
        var engineShape = engine.Shape.Dims.ToArray();
        if (!engineShape.SequenceEqual(referenceShape))
            return TensorCheck.Failed(name, kind, referenceShape, $"the engine makes [{string.Join(",", engineShape)}]");
        var values = new float[engine.Length];
        engine.Backend.Download(engine, values);
        return TensorCheck.Compare(name, kind, referenceShape, values, dump.Floats(name));
    }
}
