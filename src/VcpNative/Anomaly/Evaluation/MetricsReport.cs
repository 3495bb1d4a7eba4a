// Writes metrics.md, metrics.csv and metrics.json: per-class rows and the mean over classes.
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using VcpNative.Anomaly.Metrics;
using VcpNative.IO.Results;

namespace VcpNative.Anomaly.Evaluation;

/// <summary>
/// The mean row averages each column over the classes where it is defined (and says how many); an undefined cell
/// is printed as a short reason, never as NaN.
/// </summary>
public static class MetricsReport
{
    /// <summary>Mean of each metric column over the classes where it is defined.</summary>
    public static IReadOnlyDictionary<string, MetricValue> Mean(IReadOnlyList<ClassMetrics> classes)
    {
        var mean = new Dictionary<string, MetricValue>();
        foreach (var column in ClassMetrics.Columns)
        {
            double sum = 0;
            var count = 0;
            foreach (var c in classes)
            {
                var v = c[column];
                if (v.IsDefined)
                {
                    sum += v.Value;
                    count++;
                }
            }
            mean[column] = count == 0 ? MetricValue.Undefined("no class defines it") : MetricValue.Defined(sum / count);
        }
        return mean;
    }

    /// <summary>Writes metrics.md, metrics.csv and metrics.json (per class and mean) into <paramref name="outputDirectory"/>.</summary>
    public static void Write(string outputDirectory, IReadOnlyList<ClassMetrics> classes)
    {
        Directory.CreateDirectory(outputDirectory);
        var mean = Mean(classes);
        ResultsWriter.WriteAtomically(Path.Combine(outputDirectory, "metrics.md"), Markdown(classes, mean));
        ResultsWriter.WriteAtomically(Path.Combine(outputDirectory, "metrics.csv"), Csv(classes, mean));
        ResultsWriter.WriteAtomically(Path.Combine(outputDirectory, "metrics.json"), Json(classes, mean));
    }

    /// <summary>The per-class and mean table as Markdown (percentages, n/a where undefined).</summary>
    public static string Markdown(IReadOnlyList<ClassMetrics> classes, IReadOnlyDictionary<string, MetricValue> mean)
    {
        var sb = new StringBuilder();
        sb.Append("| class | images | ");
        sb.AppendJoin(" | ", ClassMetrics.Columns).Append(" |\n|---|---|");
        foreach (var _ in ClassMetrics.Columns)
        {
            sb.Append("---|");
        }
        sb.Append('\n');
        var notes = new List<string>();
        foreach (var c in classes)
        {
            sb.Append("| ").Append(c.ClassName).Append(" | ").Append(c.Images).Append(" |");
            foreach (var column in ClassMetrics.Columns)
            {
                var v = c[column];
                sb.Append(' ').Append(Percent(v, column)).Append(" |");
                if (!v.IsDefined)
                {
                    notes.Add($"{c.ClassName} {column}: {v.UndefinedReason}");
                }
            }
            sb.Append('\n');
        }
        sb.Append("| **mean** | ").Append(classes.Sum(c => c.Images)).Append(" |");
        foreach (var column in ClassMetrics.Columns)
        {
            sb.Append(' ').Append(Percent(mean[column], column)).Append(" |");
        }
        sb.Append("\n\nValues are percentages (threshold: the pixel F1-best threshold on normalised maps, as a fraction). ");
        sb.Append("aupro_px is the authors' cal_pro_score (200 linear thresholds, FPR < 0.3 rescaled by its max); ");
        sb.Append("aupro30 is the standard AUPRO integrated to FPR 0.3 and divided by 0.3.\n");
        if (notes.Count > 0)
        {
            sb.Append("\nUndefined (n/a) cells:\n");
            foreach (var note in notes)
            {
                sb.Append("- ").Append(note).Append('\n');
            }
        }
        return sb.ToString();
    }

    private static string Percent(MetricValue v, string column) =>
        !v.IsDefined ? "n/a" : column == "threshold" ? v.Value.ToString("F4", CultureInfo.InvariantCulture) : (v.Value * 100).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>The per-class and mean table as CSV (fractions, empty where undefined).</summary>
    public static string Csv(IReadOnlyList<ClassMetrics> classes, IReadOnlyDictionary<string, MetricValue> mean)
    {
        var sb = new StringBuilder("class,images,");
        sb.AppendJoin(',', ClassMetrics.Columns).Append('\n');
        foreach (var c in classes)
        {
            sb.Append(c.ClassName).Append(',').Append(c.Images);
            foreach (var column in ClassMetrics.Columns)
            {
                sb.Append(',').Append(Fraction(c[column]));
            }
            sb.Append('\n');
        }
        sb.Append("mean,").Append(classes.Sum(c => c.Images));
        foreach (var column in ClassMetrics.Columns)
        {
            sb.Append(',').Append(Fraction(mean[column]));
        }
        return sb.Append('\n').ToString();
    }

    private static string Fraction(MetricValue v) => v.IsDefined ? v.Value.ToString("R", CultureInfo.InvariantCulture) : "";

    /// <summary>The per-class and mean metrics as JSON.</summary>
    public static string Json(IReadOnlyList<ClassMetrics> classes, IReadOnlyDictionary<string, MetricValue> mean)
    {
        var root = new JsonObject();
        var byClass = new JsonObject();
        foreach (var c in classes)
        {
            var row = new JsonObject { ["images"] = c.Images, ["anomalous_images"] = c.AnomalousImages };
            var undefined = new JsonObject();
            foreach (var column in ClassMetrics.Columns)
            {
                var v = c[column];
                row[column] = v.IsDefined ? v.Value : null;
                if (!v.IsDefined)
                {
                    undefined[column] = v.UndefinedReason;
                }
            }
            if (undefined.Count > 0)
            {
                row["undefined"] = undefined;
            }
            byClass[c.ClassName] = row;
        }
        root["classes"] = byClass;
        var meanRow = new JsonObject();
        foreach (var column in ClassMetrics.Columns)
        {
            meanRow[column] = mean[column].IsDefined ? mean[column].Value : null;
        }
        root["mean"] = meanRow;
        return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
