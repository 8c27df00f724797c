namespace BayesPfl.Engine.Data.Datasets;

/// <summary>
/// VisA: <c>split_csv/1cls.csv</c> lists every image as <c>object,split,label,image,mask</c> with paths relative to the
/// root, label <c>normal</c> or <c>anomaly</c> and an empty mask for normal images. Defect types are not in the list;
/// anomalous samples get "anomaly", normal ones "good".
/// </summary>
internal static class VisaReader
{
    public const string ListPath = "split_csv/1cls.csv";

    private static readonly string[] Columns = ["object", "split", "label", "image", "mask"];

    public static Dataset Read(string root, DatasetOptions options)
    {
        var list = Path.Combine(root, ListPath);
        if (!File.Exists(list)) throw new DatasetException($"{list}: VisA split list not found");
        var lines = File.ReadAllLines(list);
        if (lines.Length == 0) throw new DatasetException($"{list}: empty file (expected a header {string.Join(",", Columns)})");
        var header = lines[0].Split(',').Select(h => h.Trim().ToLowerInvariant()).ToList();
        var index = Columns.Select(c => header.IndexOf(c)).ToArray();
        if (index.Any(i => i < 0))
            throw new DatasetException($"{list}: header '{lines[0]}' lacks column(s) {string.Join(", ", Columns.Where((_, k) => index[k] < 0))}");

        var builder = new DatasetBuilder(root, DatasetLayout.Visa, options);
        var split = DatasetBuilder.SplitFolder(options.Split);
        for (var n = 1; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n])) continue;
            var where = $"{list}:{n + 1}";
            var cells = lines[n].Split(',').Select(c => c.Trim()).ToArray();
            if (cells.Length < header.Count) throw new DatasetException($"{where}: {cells.Length} fields, the header has {header.Count}");
            var category = cells[index[0]];
            builder.Declare(category, category);
            if (cells[index[1]] != split || !builder.Wants(category)) continue;
            var anomalous = cells[index[2]] switch
            {
                "anomaly" => true,
                "normal" => false,
                var other => throw new DatasetException($"{where}: label '{other}' is neither 'normal' nor 'anomaly'"),
            };
            var mask = cells[index[4]] is { Length: > 0 } m ? Path.Combine(root, m) : null;
            builder.Add(category, Path.Combine(root, cells[index[3]]), anomalous, mask, anomalous ? "anomaly" : "good", where);
        }
        return builder.Build();
    }
}
