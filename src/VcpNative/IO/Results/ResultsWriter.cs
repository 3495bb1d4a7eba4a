// Writes results.json and results.csv atomically (temporary file + rename), so a reader never sees a half-written file.
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VcpNative.IO.Results;

/// <summary>results.json (an indented array) and results.csv (one row per record) from result records or journal entries.</summary>
public static class ResultsWriter
{
    private const string CsvHeader = "input,score,anomalous,map,overlay,mask";

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
    public static void Write(string outputDirectory, IReadOnlyList<JournalEntry> entries)
    {
        Directory.CreateDirectory(outputDirectory);
        var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true }))
        {
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

    /// <summary>The records of a results.json written by <see cref="Write(string, IReadOnlyList{ImageResultRecord})"/>.</summary>
    /// <param name="path">The results.json file.</param>
    public static IReadOnlyList<ImageResultRecord> ReadJson(string path) =>
        JsonSerializer.Deserialize(File.ReadAllText(path), ResultsJsonContext.Default.ListImageResultRecord) ?? [];

    /// <summary>Writes to a temporary file in the same folder, then renames over the target (see <see cref="AtomicFile"/>).</summary>
    /// <param name="path">The target file.</param>
    /// <param name="content">The whole file.</param>
    public static void WriteAtomically(string path, string content) => AtomicFile.Write(path, content);

    private static StringBuilder AppendCsvRow(StringBuilder csv, ImageResultRecord r, string? error)
    {
        csv.Append(Csv(r.Input)).Append(',')
           .Append(double.IsNaN(r.Score) ? "" : r.Score.ToString("R", CultureInfo.InvariantCulture)).Append(',')
           .Append(r.Anomalous is null ? "" : r.Anomalous.Value ? "true" : "false").Append(',')
           .Append(Csv(r.Map)).Append(',').Append(Csv(r.Overlay)).Append(',').Append(Csv(r.Mask));
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
