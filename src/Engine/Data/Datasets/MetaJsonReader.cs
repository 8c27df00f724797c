using System.Text.Json;

namespace BayesPfl.Engine.Data.Datasets;

/// <summary>
/// The zero-shot AD repositories' <c>meta.json</c> (AnomalyCLIP, AdaCLIP, Bayes-PFL):
/// <c>{"train": {cat: [...]}, "test": {cat: [{"img_path", "mask_path", "cls_name", "specie_name", "anomaly"}]}}</c>,
/// paths relative to the root, <c>mask_path</c> empty for normal images. The class name is the key, lower-cased (spec §4.3).
/// </summary>
internal static class MetaJsonReader
{
    public const string FileName = "meta.json";

    public static Dataset Read(string root, DatasetOptions options)
    {
        var file = Path.Combine(root, FileName);
        if (!File.Exists(file)) throw new DatasetException($"{file}: meta.json not found");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(file));
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{file}: not valid JSON ({e.Message})");
        }
        using (doc)
        {
            var split = DatasetBuilder.SplitFolder(options.Split);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(split, out var categories) ||
                categories.ValueKind != JsonValueKind.Object)
                throw new DatasetException($"{file}: no \"{split}\" object of categories");
            var builder = new DatasetBuilder(root, DatasetLayout.MetaJson, options);
            foreach (var category in categories.EnumerateObject())
            {
                builder.Declare(category.Name, category.Name.ToLowerInvariant());
                if (!builder.Wants(category.Name)) continue;
                if (category.Value.ValueKind != JsonValueKind.Array) throw new DatasetException($"{file}: {split}.{category.Name} is not a list");
                var k = 0;
                foreach (var entry in category.Value.EnumerateArray())
                {
                    var where = $"{file}: {split}.{category.Name}[{k++}]";
                    var image = Text(entry, "img_path", where) is { Length: > 0 } i ? Path.Combine(root, i) : throw new DatasetException($"{where}: empty img_path");
                    var mask = entry.TryGetProperty("mask_path", out _) && Text(entry, "mask_path", where) is { Length: > 0 } m ? Path.Combine(root, m) : null;
                    var anomalous = Anomaly(entry, where);
                    var defect = entry.TryGetProperty("specie_name", out _) ? Text(entry, "specie_name", where) : anomalous ? "anomaly" : "good";
                    builder.Add(category.Name, image, anomalous, mask, defect, where);
                }
            }
            return builder.Build();
        }
    }

    private static string Text(JsonElement entry, string key, string where) =>
        entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Null
            ? v.GetString() ?? ""
            : throw new DatasetException($"{where}: missing or non-string \"{key}\"");

    private static bool Anomaly(JsonElement entry, string where) =>
        entry.TryGetProperty("anomaly", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var a) && a is 0 or 1
            ? a == 1
            : throw new DatasetException($"{where}: \"anomaly\" must be 0 or 1");
}
