using System.Globalization;
using System.Text;
using System.Text.Json;
using BayesPfl.Engine.Detection;

namespace BayesPfl.Engine.Evaluation;

/// <summary>
/// The report files of an evaluation: metrics.md (Markdown table), metrics.csv and metrics.json. Metrics are in
/// [0,1] with invariant-culture formatting; a metric that is not applicable is "n/a" in Markdown, empty in CSV and
/// null in JSON. <see cref="WriteAll"/> writes every file to a temporary name first and renames only once all are
/// written, so an interrupted run leaves no report that looks complete.
/// </summary>
public static class EvaluationReports
{
    public const string MarkdownName = "metrics.md", CsvName = "metrics.csv", JsonName = "metrics.json";

    private static IEnumerable<CategoryMetrics> Rows(EvaluationReport r) => r.Categories.Append(r.Mean);

    private static string F(double v, string missing) => double.IsNaN(v) ? missing : v.ToString("F4", CultureInfo.InvariantCulture);

    public static string Markdown(EvaluationReport r)
    {
        var sb = new StringBuilder();
        sb.Append("| category | normal | anomalous | ").AppendJoin(" | ", CategoryMetrics.MetricNames).Append(" |\n");
        sb.Append("|---|---:|---:|").Append(string.Concat(Enumerable.Repeat("---:|", CategoryMetrics.MetricNames.Length))).Append('\n');
        foreach (var row in Rows(r))
            sb.Append("| ").Append(row.Category).Append(" | ").Append(row.Normal).Append(" | ").Append(row.Anomalous).Append(" | ")
              .AppendJoin(" | ", row.Values.Select(v => F(v, "n/a"))).Append(" |\n");
        return sb.ToString();
    }

    public static string Csv(EvaluationReport r)
    {
        var sb = new StringBuilder();
        sb.Append("category,normal,anomalous,").AppendJoin(',', CategoryMetrics.MetricNames).Append('\n');
        foreach (var row in Rows(r))
            sb.Append(Quote(row.Category)).Append(',').Append(row.Normal).Append(',').Append(row.Anomalous).Append(',')
              .AppendJoin(',', row.Values.Select(v => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        return sb.ToString();
    }

    private static string Quote(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    public static string Json(EvaluationReport r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("root", r.Root);
            w.WriteString("layout", r.Layout.ToString());
            w.WriteString("backend", r.Backend);
            w.WriteString("precision", r.Precision.Name());
            w.WriteString("metrics_device", r.MetricsDevice);
            w.WriteString("image_score", "0.5*minmax(p_img)+0.5*minmax(s_map) per category");
            w.WriteString("not_applicable", "null: image metrics when a category has no normal or no anomalous test image; pixel metrics when there is no anomalous or no normal pixel");
            w.WriteStartArray("categories");
            foreach (var row in r.Categories) Row(w, row);
            w.WriteEndArray();
            w.WritePropertyName("mean");
            Row(w, r.Mean);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Row(Utf8JsonWriter w, CategoryMetrics row)
    {
        w.WriteStartObject();
        w.WriteString("category", row.Category);
        w.WriteNumber("normal", row.Normal);
        w.WriteNumber("anomalous", row.Anomalous);
        var values = row.Values;
        for (var i = 0; i < values.Length; i++)
        {
            if (double.IsNaN(values[i])) w.WriteNull(CategoryMetrics.MetricNames[i]);
            else w.WriteNumber(CategoryMetrics.MetricNames[i], values[i]);
        }
        w.WriteEndObject();
    }

    /// <summary>Writes the three files into dir (created if missing): all to temporary names, then renamed.</summary>
    public static IReadOnlyList<string> WriteAll(string dir, EvaluationReport r)
    {
        Directory.CreateDirectory(dir);
        var files = new (string Name, string Text)[] { (MarkdownName, Markdown(r)), (CsvName, Csv(r)), (JsonName, Json(r)) };
        var temps = new List<string>();
        try
        {
            foreach (var (name, text) in files)
            {
                var temp = Path.Combine(dir, $".{name}.{Environment.ProcessId}.tmp");
                temps.Add(temp);
                File.WriteAllText(temp, text, new UTF8Encoding(false));
            }
            for (var i = 0; i < files.Length; i++) File.Move(temps[i], Path.Combine(dir, files[i].Name), overwrite: true);
        }
        finally
        {
            foreach (var t in temps)
                if (File.Exists(t)) File.Delete(t);
        }
        return files.Select(f => Path.Combine(dir, f.Name)).ToArray();
    }
}
