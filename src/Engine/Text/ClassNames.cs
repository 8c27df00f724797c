namespace BayesPfl.Engine.Text;

/// <summary>
/// Category name -> the words used in the Bayes-PFL prompt (spec §4.3): a fixed rename table for MVTec-AD /
/// VisA folder names, every other name verbatim, lower-cased. The prompt is "X " + name; the "X" token
/// (id 343) is later replaced by the learnable context and state vectors.
/// </summary>
public static class ClassNames
{
    private static readonly Dictionary<string, string> Renames = new(StringComparer.Ordinal)
    {
        ["macaroni1"] = "macaroni",
        ["macaroni2"] = "macaroni",
        ["pcb1"] = "printed circuit board",
        ["pcb2"] = "printed circuit board",
        ["pcb3"] = "printed circuit board",
        ["pcb4"] = "printed circuit board",
        ["pipe_fryum"] = "pipe fryum",
        ["chewinggum"] = "chewing gum",
        ["metal_nut"] = "metal nut",
    };

    /// <summary>The name used in the prompt for a dataset category (folder name or meta-json key).</summary>
    public static string PromptName(string category)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        var lower = category.ToLowerInvariant();
        return Renames.TryGetValue(lower, out var renamed) ? renamed : lower;
    }

    /// <summary>The text that is tokenised for a category: "X " + name.</summary>
    public static string Prompt(string category) => "X " + PromptName(category);
}
