// train_log.jsonl: one JSON line per optimizer step and one per validation, trimmed on resume.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VcpNative.Anomaly.Training;

/// <summary>Appends the training log; NaN metrics are written as null (JSON has no NaN).</summary>
public sealed class TrainingLog : IDisposable
{
    private readonly StreamWriter writer;

    /// <summary>Opens <paramref name="path"/> for appending (create it, or delete a previous run's log first when not resuming).</summary>
    public TrainingLog(string path)
    {
        Path = path;
        writer = new StreamWriter(path, append: true);
    }

    /// <summary>The log file.</summary>
    public string Path { get; }

    /// <summary>step, epoch, loss and its two parts, lr, images_per_s.</summary>
    public void Step(long step, int epoch, TrainingLoss loss, double learningRate, double imagesPerSecond) => Write(new JsonObject
    {
        ["step"] = step,
        ["epoch"] = epoch,
        ["loss"] = loss.Total,
        [loss.FirstName] = loss.First,
        [loss.SecondName] = loss.Second,
        ["lr"] = learningRate,
        ["images_per_s"] = imagesPerSecond,
    });

    /// <summary>step, val_ap_px, val_auroc_px, val_classes, val_images.</summary>
    public void Validation(long step, ValidationSummary summary) => Write(new JsonObject
    {
        ["step"] = step,
        ["val_ap_px"] = Number(summary.PixelAp),
        ["val_auroc_px"] = Number(summary.PixelAuroc),
        ["val_classes"] = summary.Classes,
        ["val_images"] = summary.Images,
    });

    /// <summary>After a resume, drops log lines of steps the checkpoint does not contain (they will be redone).</summary>
    public static void Trim(string path, long steps)
    {
        if (!File.Exists(path))
        {
            return;
        }
        var kept = File.ReadAllLines(path).Where(line =>
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.GetProperty("step").GetInt64() <= steps;
        }).ToList();
        IO.Results.ResultsWriter.WriteAtomically(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
    }

    /// <inheritdoc/>
    public void Dispose() => writer.Dispose();

    private void Write(JsonObject line)
    {
        writer.WriteLine(line.ToJsonString());
        writer.Flush();
    }

    private static JsonNode? Number(double value) => double.IsNaN(value) ? null : JsonValue.Create(value);
}
