// compare.md and compare.json: several heads' class means (and optionally per-class values) side by side.
// They live here, not in IO/Results, because they are built from ClassMetrics (Anomaly) and IO must not reference Anomaly.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VcpNative.Anomaly.Metrics;

namespace VcpNative.Anomaly.Evaluation;

/// <summary>One evaluated head of a comparison.</summary>
/// <param name="Head">The head file.</param>
/// <param name="Label">Its column label, &lt;n&gt;-&lt;method&gt;.</param>
/// <param name="Method">The method it ran as.</param>
/// <param name="Images">Images scored.</param>
/// <param name="Rows">Metrics per class.</param>
public sealed record ComparedHead(string Head, string Label, string Method, int Images, IReadOnlyList<ClassMetrics> Rows);

/// <summary>The comparison tables: one column per head, one row per metric (x100, 1 decimal, as ViP2-CLIP prints).</summary>
public static class ComparisonReport
{
    /// <summary>Metrics shown side by side (the threshold is a by-product, not a metric).</summary>
    public static readonly string[] Metrics = ["auroc_px", "aupro_px", "ap_px", "f1_px", "iou", "auroc_sp", "ap_sp", "f1_sp", "aupro30"];

    /// <summary>A metric-per-row table of class means (x100, 1 decimal, as ViP2-CLIP prints), one column per head.</summary>
    /// <param name="evaluations">The heads, in column order.</param>
    /// <param name="perClass">Also one table per class.</param>
    /// <param name="normalisations">Each method's title and how its maps are normalised, for the table's heading.</param>
    /// <returns>The compare.md text.</returns>
    public static string Markdown(IReadOnlyList<ComparedHead> evaluations, bool perClass, IReadOnlyList<(string Title, Inference.ClassNormalisation Rule)> normalisations)
    {
        var sb = new StringBuilder();
        var maps = string.Join(", ", normalisations.Select(n => $"{n.Title} {(n.Rule == Inference.ClassNormalisation.MinMaxPerClass ? "min-max per class" : "raw")}"));
        sb.Append("Mean over classes (x100). Maps: ").Append(maps).Append(" (each as its authors evaluate).\n\n");
        AppendTable(sb, evaluations, e => MetricsReport.Mean(e.Rows));
        if (perClass)
        {
            var classNames = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var e in evaluations)
            {
                foreach (var r in e.Rows)
                {
                    classNames.Add(r.ClassName);
                }
            }
            foreach (var name in classNames)
            {
                sb.Append("\n### ").Append(name).Append("\n\n");
                AppendTable(sb, evaluations, e => RowOf(e, name));
            }
        }
        return sb.ToString();
    }

    private static void AppendTable(StringBuilder sb, IReadOnlyList<ComparedHead> evaluations, Func<ComparedHead, IReadOnlyDictionary<string, MetricValue>?> values)
    {
        sb.Append("| metric |");
        foreach (var e in evaluations)
        {
            sb.Append(' ').Append(e.Label).Append(" (").Append(Path.GetFileName(e.Head)).Append(") |");
        }
        sb.Append("\n|---|");
        foreach (var _ in evaluations)
        {
            sb.Append("---|");
        }
        sb.Append('\n');
        var columns = new List<IReadOnlyDictionary<string, MetricValue>?>();
        foreach (var e in evaluations)
        {
            columns.Add(values(e));
        }
        foreach (var metric in Metrics)
        {
            sb.Append("| ").Append(metric).Append(" |");
            foreach (var c in columns)
            {
                sb.Append(' ').Append(Cell(c, metric)).Append(" |");
            }
            sb.Append('\n');
        }
    }

    private static string Cell(IReadOnlyDictionary<string, MetricValue>? values, string metric)
    {
        if (values is null || !values.TryGetValue(metric, out var v))
        {
            return "-";
        }
        return v.IsDefined ? (v.Value * 100).ToString("F1", CultureInfo.InvariantCulture) : "n/a";
    }

    private static IReadOnlyDictionary<string, MetricValue>? RowOf(ComparedHead e, string className)
    {
        foreach (var r in e.Rows)
        {
            if (r.ClassName == className)
            {
                var d = new Dictionary<string, MetricValue>(StringComparer.Ordinal);
                foreach (var m in Metrics)
                {
                    d[m] = r[m];
                }
                return d;
            }
        }
        return null;
    }

    /// <summary>compare.json: per head its file, method, image count, class means and per-class values (fractions; null when undefined).</summary>
    /// <param name="evaluations">The heads, in order.</param>
    /// <param name="size">Input size the heads ran at.</param>
    /// <returns>Indented JSON with a trailing newline.</returns>
    public static string Json(IReadOnlyList<ComparedHead> evaluations, int size)
    {
        var heads = new JsonArray();
        foreach (var e in evaluations)
        {
            var mean = new JsonObject();
            var means = MetricsReport.Mean(e.Rows);
            foreach (var m in Metrics)
            {
                mean[m] = Value(means[m]);
            }
            var classes = new JsonObject();
            foreach (var r in e.Rows)
            {
                var row = new JsonObject { ["images"] = r.Images, ["anomalous_images"] = r.AnomalousImages };
                foreach (var m in Metrics)
                {
                    row[m] = Value(r[m]);
                }
                classes[r.ClassName] = row;
            }
            heads.Add((JsonNode)new JsonObject
            {
                ["head"] = e.Head,
                ["label"] = e.Label,
                ["method"] = e.Method,
                ["images"] = e.Images,
                ["mean"] = mean,
                ["classes"] = classes,
            });
        }
        var root = new JsonObject { ["image_size"] = size, ["metrics"] = new JsonArray([.. Metrics.Select(m => (JsonNode?)m)]), ["heads"] = heads };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonNode? Value(MetricValue v) => v.IsDefined ? JsonValue.Create(v.Value) : null;
}
