using System.CommandLine;
using BayesPfl.Engine.Data.Synthetic;

namespace BayesPfl.Cli;

/// <summary>`bayespfl generate`: writes the seeded synthetic defect dataset in the MVTec-AD layout.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "folder to write the dataset into", Required = true };
        var seed = new Option<int>("--seed") { Description = "random seed; the same seed writes the same files", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--size") { Description = $"image side in pixels ({SyntheticOptions.MinSize}..{SyntheticOptions.MaxSize})", DefaultValueFactory = _ => 128 };
        var perCategory = new Option<int>("--per-category") { Description = "images in train/good, test/good and each test/<defect> folder", DefaultValueFactory = _ => 8 };
        var groups = new Option<string[]>("--group")
        {
            Description = $"category group(s) to write: {string.Join(", ", SyntheticDataset.AllGroups.Select(g => $"{g.Key} ({string.Join(" ", g.Value)})"))}; default all",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("generate", "Write a synthetic anomaly dataset (textures and objects with scratches, cracks, holes, stains, missing parts) in the MVTec-AD layout")
        {
            output, seed, size, perCategory, groups,
        };
        command.SetAction(result => Run(result.GetValue(output)!, new SyntheticOptions
        {
            Seed = result.GetValue(seed),
            Size = result.GetValue(size),
            PerCategory = result.GetValue(perCategory),
            Groups = result.GetValue(groups) is { Length: > 0 } g ? g : null,
        }));
        return command;
    }

    private static int Run(string output, SyntheticOptions options)
    {
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var report = SyntheticDataset.Generate(output, options);
            Console.WriteLine($"{report} ({clock.Elapsed.TotalSeconds:F1} s)");
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bayespfl generate: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"bayespfl generate: cannot write the dataset to {output}: {e.Message}");
            return 1;
        }
    }
}
