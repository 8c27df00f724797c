using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Validation;

/// <summary>
/// One clip_towers.py dump with every input kind (two images, taps 1 and 3 of 3 blocks, three token-id prompts one of
/// which fills the context, two spliced prompts), shared by the validation tests, and a way to copy a dump with one
/// tensor changed.
/// </summary>
public sealed class DumpFixture : IDisposable
{
    public DumpFixture()
    {
        using var dump = Oracle.Run("clip_towers.py", "--image", "42", "--patch", "7", "--width", "40", "--layers", "3", "--heads", "2",
            "--text-width", "24", "--text-heads", "3", "--vocab", "300", "--embed", "16", "--taps", "1,3", "--batch", "2",
            "--prompts", "3", "--long-prompt", "--spliced", "2", "--inject-len", "4");
        TowersPath = dump.Path;
        ClipPath = dump.Metadata["weights"];
    }

    public string TowersPath { get; }

    public string ClipPath { get; }

    /// <summary>
    /// A copy of <paramref name="source"/> in a fresh folder, byte for byte except: tensors <paramref name="drop"/> are left
    /// out, <paramref name="change"/> rewrites the values of <paramref name="tensor"/>, <paramref name="metadata"/> replaces
    /// one metadata value.
    /// </summary>
    public static string Copy(string source, string[]? drop = null, string? tensor = null, Action<float[]>? change = null,
                              (string Key, string Value)? metadata = null)
    {
        using var file = SafeTensorsFile.Open(source);
        var writer = new SafeTensorsWriter();
        foreach (var (key, value) in file.Metadata) writer.Metadata(key, key == metadata?.Key ? metadata.Value.Value : value);
        foreach (var e in file.Entries.OrderBy(e => e.Begin).Where(e => drop is null || !drop.Contains(e.Name)))
        {
            if (e.Name != tensor || change is null)
            {
                writer.AddRaw(e.Name, e.DType, e.Shape, file.ReadBytes(e.Name), e.Count);
                continue;
            }
            var values = file.ReadFloats(e.Name);
            change(values);
            writer.Add(e.Name, values, e.Shape);
        }
        var path = Path.Combine(Repo.TempDir("validate-copy"), Path.GetFileName(source));
        writer.Save(path);
        return path;
    }

    public void Dispose()
    {
        var dir = Path.GetDirectoryName(TowersPath);
        if (dir is not null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
