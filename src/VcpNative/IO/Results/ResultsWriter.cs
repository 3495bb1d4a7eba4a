// Writes results.json and results.csv atomically (temporary file + rename), so a reader never sees a half-written file.
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VcpNative.IO.Results;

/// <summary>
/// What a batch job's results.json says about its scores before the records: the method, image size and threshold
/// they came from, and what the score means and its range.
/// </summary>
/// <param name="Method">Method name ("vcp", "vip2").</param>
/// <param name="ImageSize">Square input size the scores were computed at.</param>
/// <param name="Threshold">Image-score threshold of the verdicts, or null.</param>
/// <param name="ScoreMeaning">What the raw score is (one sentence).</param>
/// <param name="ScoreMaximum">The score lies in [0, ScoreMaximum].</param>
public sealed record ResultsHeader(string Method, int ImageSize, double? Threshold, string ScoreMeaning, double ScoreMaximum);

/// <summary>
/// results.json and results.csv (one row per record) from result records or journal entries. results.json is an
/// indented array of records, or, for a batch job, an object with the <see cref="ResultsHeader"/> fields and the
/// records under <c>results</c>.
/// </summary>
public static class ResultsWriter
{
    private const string CsvHeader = "input,score,anomalous,map,overlay,mask,width,height";

    /// <summary>Both files from successful records only (eval, calibrate): the format without an error column.</summary>
    /// <param name="outputDirectory">Folder of results.json and results.csv.</param>
    /// <param name="records">The records, in order.</param>
    public static void Write(string outputDirectory, IReadOnlyList<ImageResultRecord> records)
    {
        Directory.CreateDirectory(outputDirectory);
        WriteAtomically(Path.Combine(outputDirectory, "results.json"), JsonSerializer.Serialize(records, ResultsJsonContext.Default.IReadOnlyListImageResultRecord) + "\n");
        var csv = new StringBuilder(CsvHeader + "\n");
        foreach (var r in records)
        {
            AppendCsvRow(csv, r, null).Append('\n');
        }
        WriteAtomically(Path.Combine(outputDirectory, "results.csv"), csv.ToString());
    }

    /// <summary>
    /// Both files from a batch job's journal entries, in the given order: a success as <see cref="Write(string, IReadOnlyList{ImageResultRecord})"/> writes it, a
    /// failure as <c>{"input", "score": null, "error"}</c>; the CSV gains an <c>error</c> column.
    /// </summary>
    /// <param name="outputDirectory">Folder of results.json and results.csv.</param>
    /// <param name="entries">One entry per input, in input order.</param>
    /// <param name="header">The fields written before the records (results.json is then an object); null for a plain array.</param>
    public static void Write(string outputDirectory, IReadOnlyList<JournalEntry> entries, ResultsHeader? header = null)
    {
        Directory.CreateDirectory(outputDirectory);
        var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true }))
        {
            if (header is not null)
            {
                writer.WriteStartObject();
                writer.WriteString("method", header.Method);
                writer.WriteNumber("image_size", header.ImageSize);
                if (header.Threshold is double threshold)
                {
                    writer.WriteNumber("threshold", threshold);
                }
                else
                {
                    writer.WriteNull("threshold");
                }
                // Not an object named "score": tools that look for "score" keys find only the records' numbers.
                writer.WriteString("score_meaning", header.ScoreMeaning);
                writer.WriteStartArray("score_range");
                writer.WriteNumberValue(0);
                writer.WriteNumberValue(header.ScoreMaximum);
                writer.WriteEndArray();
                writer.WritePropertyName("results");
            }
            writer.WriteStartArray();
            foreach (var e in entries)
            {
                if (e.Result is { } result)
                {
                    JsonSerializer.Serialize(writer, result, ResultsJsonContext.Default.ImageResultRecord);
                    continue;
                }
                writer.WriteStartObject();
                writer.WriteString("input", e.Input);
                writer.WriteNull("score");
                writer.WriteString("error", e.Error);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            if (header is not null)
            {
                writer.WriteEndObject();
            }
        }
        json.WriteByte((byte)'\n');
        AtomicFile.Write(Path.Combine(outputDirectory, "results.json"), json.GetBuffer().AsSpan(0, (int)json.Length));
        var csv = new StringBuilder(CsvHeader + ",error\n");
        foreach (var e in entries)
        {
            AppendCsvRow(csv, e.Result ?? new ImageResultRecord(e.Input, double.NaN, null, null, null, null), e.Error ?? "").Append('\n');
        }
        WriteAtomically(Path.Combine(outputDirectory, "results.csv"), csv.ToString());
    }

    /// <summary>The successful records of a results.json (a plain array, or a batch job's object with <c>results</c>); failed inputs' entries are left out.</summary>
    /// <param name="path">The results.json file.</param>
    public static IReadOnlyList<ImageResultRecord> ReadJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var array = doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.GetProperty("results") : doc.RootElement;
        var records = new List<ImageResultRecord>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.TryGetProperty("score", out var score) && score.ValueKind != JsonValueKind.Null)
            {
                records.Add(item.Deserialize(ResultsJsonContext.Default.ImageResultRecord)!);
            }
        }
        return records;
    }

    /// <summary>Writes to a temporary file in the same folder, then renames over the target (see <see cref="AtomicFile"/>).</summary>
    /// <param name="path">The target file.</param>
    /// <param name="content">The whole file.</param>
    public static void WriteAtomically(string path, string content) => AtomicFile.Write(path, content);

    private static StringBuilder AppendCsvRow(StringBuilder csv, ImageResultRecord r, string? error)
    {
        csv.Append(Csv(r.Input)).Append(',')
           .Append(double.IsNaN(r.Score) ? "" : r.Score.ToString("R", CultureInfo.InvariantCulture)).Append(',')
           .Append(r.Anomalous is null ? "" : r.Anomalous.Value ? "true" : "false").Append(',')
           .Append(Csv(r.Map)).Append(',').Append(Csv(r.Overlay)).Append(',').Append(Csv(r.Mask)).Append(',')
           .Append(r.Width?.ToString(CultureInfo.InvariantCulture)).Append(',').Append(r.Height?.ToString(CultureInfo.InvariantCulture));
        return error is null ? csv : csv.Append(',').Append(Csv(error));
    }

    private static string Csv(string? value)
    {
        if (value is null)
        {
            return "";
        }
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }
}
