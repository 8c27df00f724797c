using System.Globalization;
using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Metrics;

namespace BayesPfl.Engine.Validation;

/// <summary>
/// Runs the whole detector (<see cref="AnomalyDetector"/>) on a pipeline dump's preprocessed images and prompt ids with
/// its injected noise eps[n,3,R,C] (context, normal, abnormal; image after image, as the detector asks for it), and
/// compares every per-image stage the dump holds. Each stage runs on the engine's own upstream values, so the
/// comparison is end to end: the first failing stage in pipeline order is the one to look at.
/// </summary>
internal static class PipelineValidation
{
    /// <summary>Takes ownership of <paramref name="backend"/> (the detector disposes it).</summary>
    public static List<TensorCheck> Run(ReferenceDump dump, IBackend backend, string clipPath, string headPath, Action<string> progress)
    {
        var images = dump.Require(ReferenceNames.Images, 4, "the pipeline");
        var eps = dump.Require(ReferenceNames.Eps, 4, "the pipeline");
        var ids = dump.Ints(dump.Contains(ReferenceNames.SpliceIds) ? ReferenceNames.SpliceIds : throw new InvalidDataException(
            $"{dump.Path}: the pipeline needs tensor {ReferenceNames.SpliceIds} (the tokenised \"X <class>\" prompt), which the dump does not hold"));
        int n = images[0], samples = eps[2];
        if (eps[0] != n || eps[1] != 3)
            throw new InvalidDataException($"{dump.Path}: {ReferenceNames.Eps} is [{string.Join(",", eps)}], expected [{n},3,R,C] for {n} images");
        var topK = TopK(dump);

        var noise = dump.Floats(ReferenceNames.Eps);
        var perImage = noise.Length / n;
        var next = 0;
        var stages = new Dictionary<string, (int[] Shape, float[] Values)>(StringComparer.Ordinal);
        var options = new DetectorOptions
        {
            Samples = samples,
            NoiseSource = wanted => wanted == perImage
                ? noise.AsSpan(next++ * perImage, perImage).ToArray()
                : throw new InvalidDataException($"{dump.Path}: the head wants {wanted} noise values per image, {ReferenceNames.Eps} holds {perImage} " +
                                                 $"([{string.Join(",", eps)}]: is C the head's embedding width?)"),
            Inspect = (i, stage, t) =>
            {
                var v = new float[t.Length];
                t.Backend.Download(t, v);
                stages[ReferenceNames.Stage(i, stage)] = (t.Shape.Dims.ToArray(), v);
            },
        };
        progress("detector");
        AnomalyDetector created;
        try
        {
            created = AnomalyDetector.Create(backend, clipPath, headPath, options);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
        using var detector = created;
        var results = detector.Run(dump.Floats(ReferenceNames.Images), ids);

        var checks = new List<TensorCheck>();
        for (var i = 0; i < n; i++)
        {
            var taps = detector.TapLayers.Select(l => stages[ReferenceNames.Stage(i, $"tap{l}")]).ToList();
            var engine = new Dictionary<string, (int[] Shape, float[] Values)>(StringComparer.Ordinal)
            {
                ["g"] = stages[ReferenceNames.Stage(i, "g")],
                ["taps"] = ([taps.Count, .. taps[0].Shape], taps.SelectMany(t => t.Values).ToArray()),
                ["prompt_blocks"] = stages[ReferenceNames.Stage(i, "prompt_blocks")],
                ["text"] = stages[ReferenceNames.Stage(i, "text")],
                ["p_img"] = ([1, 1], [(float)results[i].PImg]),
                ["map"] = ([detector.ImageSize, detector.ImageSize], results[i].Map),
                ["s_map"] = ([1], [(float)TopKMean.Compute(results[i].Map, topK)]),
            };
            foreach (var (stage, kind) in ReferenceNames.PipelineStages)
            {
                var name = ReferenceNames.Stage(i, stage);
                if (!dump.Contains(name)) continue;
                var (shape, values) = engine[stage];
                var reference = dump.Shape(name);
                checks.Add(reference.Aggregate(1L, (a, d) => a * d) == values.Length
                    ? TensorCheck.Compare(name, kind, reference, values, dump.Floats(name))
                    : TensorCheck.Failed(name, kind, reference, $"the engine makes [{string.Join(",", shape)}]"));
            }
        }
        if (checks.Count == 0)
            throw new InvalidDataException($"{dump.Path}: a pipeline dump without outputs: none of " +
                $"{string.Join(", ", ReferenceNames.PipelineStages.Select(s => ReferenceNames.Stage(0, s.Stage)))} to compare");
        return checks;
    }

    private static int TopK(ReferenceDump dump)
    {
        if (!dump.File.Metadata.TryGetValue(ReferenceNames.TopKKey, out var text)) return ReferenceNames.DefaultTopK;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0
            ? k : throw new InvalidDataException($"{dump.Path}: metadata \"{ReferenceNames.TopKKey}\" is \"{text}\", expected a positive integer");
    }
}
