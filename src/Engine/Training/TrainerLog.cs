using System.Text.Json;

namespace BayesPfl.Engine.Training;

/// <summary>
/// train-log.jsonl: one JSON object per step ("type":"step") and per epoch ("type":"epoch"), appended and flushed
/// line by line, so a killed run keeps its log up to the kill. A resumed run appends; steps of the epoch that
/// was lost appear twice (the second time as rerun), which the "global_step" field makes visible.
/// </summary>
internal sealed class TrainerLog : IDisposable
{
    private readonly FileStream stream;

    public TrainerLog(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    public void Step(TrainerStep s) => Line(w =>
    {
        w.WriteString("type", "step");
        w.WriteNumber("epoch", s.Epoch);
        w.WriteNumber("batch", s.Batch);
        w.WriteNumber("global_step", s.GlobalStep);
        w.WriteNumber("stage", (int)s.Stage);
        w.WriteNumber("bank_index", s.BankIndex);
        w.WriteNumber("lr", s.Lr);
        w.WriteNumber("loss", s.Losses.Total);
        w.WriteNumber("cls", s.Losses.Cls);
        w.WriteNumber("seg", s.Losses.Seg);
        w.WriteNumber("dist", s.Losses.Dist);
        w.WriteNumber("orth", s.Losses.Orth);
        w.WriteNumber("images_per_s", s.ImagesPerSecond);
    });

    public void Epoch(TrainerEpoch e) => Line(w =>
    {
        w.WriteString("type", "epoch");
        w.WriteNumber("epoch", e.Epoch);
        w.WriteNumber("stage", (int)e.Stage);
        Number(w, "mean_loss", e.MeanLoss);
        Number(w, "pixel_ap", e.Metrics.PixelAp);
        Number(w, "image_ap", e.Metrics.ImageAp);
        w.WriteString("action", e.Action.ToString());
        w.WriteString("checkpoint", e.Checkpoint);
        w.WriteNumber("seconds", e.Elapsed.TotalSeconds);
    });

    // JSON has no NaN: an undefined metric is null.
    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private void Line(Action<Utf8JsonWriter> body)
    {
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        stream.Flush();
    }

    public void Dispose() => stream.Dispose();
}
