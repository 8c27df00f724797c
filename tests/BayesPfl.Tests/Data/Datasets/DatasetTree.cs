using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Tests.Data.Datasets;

/// <summary>Writes tiny dataset trees for the reader tests: 4x4 PNG images and masks at chosen relative paths.</summary>
internal sealed class DatasetTree
{
    public string Root { get; } = Infra.Repo.TempDir("dataset");

    public string Path(string relative) => System.IO.Path.Combine(Root, relative);

    public DatasetTree Image(params string[] relatives)
    {
        foreach (var relative in relatives)
        {
            var path = Path(relative);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            using var image = new Image<Rgb24>(4, 4, new Rgb24(10, 20, 30));
            image.SaveAsPng(path);
        }
        return this;
    }

    public DatasetTree Text(string relative, string content)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path(relative))!);
        File.WriteAllText(Path(relative), content);
        return this;
    }

    public DatasetTree Folder(string relative)
    {
        Directory.CreateDirectory(Path(relative));
        return this;
    }
}
