using BayesPfl.Engine.Metrics;
using BayesPfl.Engine.Text;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Detection;

/// <summary>
/// One run of tests/reference/pipeline_oracle.py on two PNGs written here (sizes that are neither square nor the
/// engine's 56 px): tiny CLIP (vision 64 wide, 4 layers, 56 px / patch 14; text 768 wide, 1 layer) and the full
/// 768-d head, with injected noise.
/// </summary>
public sealed class PipelineOracleFixture : IDisposable
{
    public const string Category = "screw";

    public PipelineOracleFixture()
    {
        var dir = Repo.TempDir("pipeline-images");
        Images = TestImages.WriteThree(dir);
        var ids = ClipTokenizer.Default.Tokenize(ClassNames.Prompt(Category));
        Debug = Oracle.Run("pipeline_oracle.py", "--images", Images[0] + "," + Images[1], "--ids", string.Join(",", ids),
            "--topk", TopKMean.DefaultK(Category).ToString());
        ClipPath = Debug.Metadata["clip"];
        HeadPath = Debug.Metadata["head"];
        Eps = Debug.ReadFloats("eps");
    }

    public SafeTensorsFile Debug { get; }

    /// <summary>Three images; the oracle sees the first two.</summary>
    public string[] Images { get; }

    public string ClipPath { get; }

    public string HeadPath { get; }

    /// <summary>Injected noise [2,3,R,C], image after image.</summary>
    public float[] Eps { get; }

    /// <summary>A noise source handing out the oracle's noise image by image.</summary>
    public Func<int, float[]> Noise()
    {
        var next = 0;
        return n =>
        {
            var slice = Eps.AsSpan(next * n, n).ToArray();
            next++;
            return slice;
        };
    }

    public void Dispose() => Debug.Dispose();
}
