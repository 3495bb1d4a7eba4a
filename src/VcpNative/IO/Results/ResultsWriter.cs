// Writes results.json and results.csv atomically, so an interrupted run keeps every finished record.
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VcpNative.IO.Results;

/// <summary>Rewrites both files after each batch (temp file + rename): a crash never leaves a half-written file.</summary>
public static class ResultsWriter
{
    /// <summary>Writes results.json and results.csv into <paramref name="outputDirectory"/>, each atomically.</summary>
    public static void Write(string outputDirectory, IReadOnlyList<ImageResultRecord> records)
    {
        Directory.CreateDirectory(outputDirectory);
        WriteAtomically(Path.Combine(outputDirectory, "results.json"), JsonSerializer.Serialize(records, ResultsJsonContext.Default.IReadOnlyListImageResultRecord) + "\n");
        var csv = new StringBuilder("input,score,anomalous,map,overlay,mask\n");
        foreach (var r in records)
        {
            csv.Append(Csv(r.Input)).Append(',')
               .Append(r.Score.ToString("R", CultureInfo.InvariantCulture)).Append(',')
               .Append(r.Anomalous is null ? "" : r.Anomalous.Value ? "true" : "false").Append(',')
               .Append(Csv(r.Map)).Append(',').Append(Csv(r.Overlay)).Append(',').Append(Csv(r.Mask)).Append('\n');
        }
        WriteAtomically(Path.Combine(outputDirectory, "results.csv"), csv.ToString());
    }

    /// <summary>The records of a results.json file.</summary>
    public static IReadOnlyList<ImageResultRecord> ReadJson(string path) =>
        JsonSerializer.Deserialize(File.ReadAllText(path), ResultsJsonContext.Default.ListImageResultRecord) ?? [];

    /// <summary>Writes to a temporary file in the same folder, then renames over the target.</summary>
    public static void WriteAtomically(string path, string content)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
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
