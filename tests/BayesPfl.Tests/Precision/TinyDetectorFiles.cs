using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Text;
using BayesPfl.Engine.Training;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Precision;

/// <summary>
/// A detector without an oracle, written once per test class: RandomClip.Tiny (112 px, widths 64, 4 vision and 2 text
/// layers, CLIP's init scales), a freshly initialised head that fits it, and three small PNGs.
/// </summary>
public sealed class TinyDetectorFiles : IDisposable
{
    public TinyDetectorFiles()
    {
        Dir = Repo.TempDir("bf16-detector");
        ClipPath = Path.Combine(Dir, "clip.safetensors");
        HeadPath = Path.Combine(Dir, "head.safetensors");
        RandomClip.Write(ClipPath, Config, seed: 11);
        var head = new HeadConfig { Embed = Config.EmbedDim, VisionWidth = Config.Vision.Width, Hidden = 32, FuseHidden = 32 };
        using (var cpu = new CpuBackend())
        using (var parameters = HeadParameters.Initialize(cpu, head, seed: 12))
            parameters.SaveHeadFile(HeadPath, TrainingStage.Two);
        Images = TestImages.WriteThree(Dir);
    }

    public static ClipConfig Config => RandomClip.Tiny;

    public string Dir { get; }

    public string ClipPath { get; }

    public string HeadPath { get; }

    public string[] Images { get; }

    /// <summary>The tokenised "X bottle" prompt (the detector's input besides the pixels).</summary>
    public static int[] Ids => ClipTokenizer.Default.Tokenize(ClassNames.Prompt("bottle"), Config.Text.ContextLength);

    /// <summary>n preprocessed images [n,3,S,S] of unit Gaussian pixels (what ClipPreprocess's normalisation yields, roughly).</summary>
    public static float[] Pixels(int n, ulong seed, int size = 112)
    {
        var values = new float[n * 3 * size * size];
        new GaussianNoise(seed).Fill(values);
        return values;
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
