using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Reports;

/// <summary>
/// Checks run on a dataset before any image goes through the model, so that a bad file fails the run in seconds
/// with its name instead of after minutes of compute: every image and mask header is readable (and not truncated,
/// see <see cref="ImageFile.CheckHeader"/>), and every mask has its image's size. Evaluation resizes masks to the
/// map size, which would silently accept a mask of another image.
/// </summary>
public static class DatasetChecks
{
    public static void CheckFiles(Dataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var samples = dataset.Samples.ToArray();
        var problems = new string?[samples.Length];
        Parallel.For(0, samples.Length, i => problems[i] = Check(samples[i]));
        var bad = problems.Where(p => p is not null).ToArray();
        if (bad.Length == 0) return;
        var more = bad.Length > 1 ? $" (and {bad.Length - 1} more file problem(s))" : "";
        throw new DatasetException(bad[0] + more);
    }

    private static string? Check(Sample s)
    {
        try
        {
            var image = ImageFile.CheckHeader(s.ImagePath);
            if (s.MaskPath is null) return null;
            var mask = ImageFile.CheckHeader(s.MaskPath);
            return image == mask ? null
                : $"{s.MaskPath}: mask is {mask.Width}x{mask.Height} but its image {s.ImagePath} is {image.Width}x{image.Height}";
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }
}
