// `vcp-native compare`: evaluate several head files (VCP-CLIP and/or ViP2-CLIP) on one dataset, tables side by side.
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Metrics;
using VcpNative.IO.Results;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

/// <summary>
/// Each head is evaluated exactly as `eval` does (method detected per head, CLIP built for that method from the same
/// weight file, the method's own per-class normalisation) into OUT/&lt;n&gt;-&lt;method&gt;/; then compare.md and
/// compare.json hold the class means of every metric per head, and optionally the per-class values.
/// </summary>
public static class CompareCommand
{
    /// <summary>Metrics shown side by side (the threshold is a by-product, not a metric).</summary>
    public static readonly string[] Metrics = ["auroc_px", "aupro_px", "ap_px", "f1_px", "iou", "auroc_sp", "ap_sp", "f1_sp", "aupro30"];

    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights (as for infer); each method builds its CLIP variant from it", Required = true };
        var heads = new Option<string[]>("--heads")
        {
            Description = "Two or more head files (VCP-CLIP and/or ViP2-CLIP; method detected per file)",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var dataset = DatasetOptions.Dataset();
        var root = DatasetOptions.Root();
        var classes = DatasetOptions.Classes();
        var size = new Option<int>("--image-size") { Description = "Square input size", DefaultValueFactory = _ => 518 };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };
        var perClass = new Option<bool>("--per-class") { Description = "Also list every class's metrics per head in compare.md" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder (compare.md, compare.json, one eval folder per head)", Required = true };
        var command = new Command("compare", "Evaluate several heads (e.g. VCP-CLIP vs ViP2-CLIP) on one dataset and print their metrics side by side")
        {
            clip, heads, dataset, root, classes, size, batch, perClass, output,
        };
        command.SetAction(parse => Run(
            parse.GetValue(clip)!, parse.GetValue(heads)!, DatasetOptions.Layout(parse.GetValue(dataset)!), parse.GetValue(root)!, parse.GetValue(classes),
            parse.GetValue(size), parse.GetValue(batch), parse.GetValue(perClass), parse.GetValue(output)!,
            GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>One evaluated head: its file, the method it was run as, and its per-class rows.</summary>
    public sealed record HeadEvaluation(string Head, string Label, EvalCommand.EvalResult Result);

    public static int Run(string clipPath, string[] headPaths, Anomaly.Datasets.DatasetLayout layout, string root, string? classFilter, int size,
        int batchSize, bool perClass, string output, IBackend backend, TextWriter stdout, TextWriter stderr)
    {
        if (headPaths.Length < 2)
        {
            throw new ArgumentException($"--heads needs at least two head files to compare, got {headPaths.Length}");
        }
        var samples = EvalCommand.ReadSamples(layout, root, classFilter);
        Directory.CreateDirectory(output);
        var evaluations = new List<HeadEvaluation>();
        var failures = new List<string>();
        for (var i = 0; i < headPaths.Length; i++)
        {
            var method = Anomaly.Inference.AnomalyModelLoader.DetectMethod(headPaths[i]);
            var label = $"{i + 1}-{method}";
            var result = EvalCommand.Evaluate(clipPath, headPaths[i], method, samples, size, batchSize, saveMaps: false, Path.Combine(output, label), backend, stderr);
            evaluations.Add(new HeadEvaluation(headPaths[i], label, result));
            failures.AddRange(result.Failures);
        }
        var markdown = Markdown(evaluations, perClass);
        ResultsWriter.WriteAtomically(Path.Combine(output, "compare.md"), markdown);
        ResultsWriter.WriteAtomically(Path.Combine(output, "compare.json"), Json(evaluations, size));
        stdout.Write(markdown);
        stdout.WriteLine($"compare: {evaluations.Count} heads on {samples.Count} images; tables in {Path.Combine(output, "compare.md")}");
        return EvalCommand.ReportFailures(failures, stderr);
    }

    /// <summary>A metric-per-row table of class means (x100, 1 decimal, as ViP2-CLIP prints), one column per head.</summary>
    public static string Markdown(IReadOnlyList<HeadEvaluation> evaluations, bool perClass)
    {
        var sb = new StringBuilder();
        sb.Append("Mean over classes (x100). Maps: VCP-CLIP min-max per class, ViP2-CLIP raw (each as its authors evaluate).\n\n");
        AppendTable(sb, evaluations, e => MetricsReport.Mean(e.Result.Rows));
        if (perClass)
        {
            var classNames = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var e in evaluations)
            {
                foreach (var r in e.Result.Rows)
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

    private static void AppendTable(StringBuilder sb, IReadOnlyList<HeadEvaluation> evaluations, Func<HeadEvaluation, IReadOnlyDictionary<string, MetricValue>?> values)
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

    private static IReadOnlyDictionary<string, MetricValue>? RowOf(HeadEvaluation e, string className)
    {
        foreach (var r in e.Result.Rows)
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
    public static string Json(IReadOnlyList<HeadEvaluation> evaluations, int size)
    {
        var heads = new JsonArray();
        foreach (var e in evaluations)
        {
            var mean = new JsonObject();
            var means = MetricsReport.Mean(e.Result.Rows);
            foreach (var m in Metrics)
            {
                mean[m] = Value(means[m]);
            }
            var classes = new JsonObject();
            foreach (var r in e.Result.Rows)
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
                ["method"] = e.Result.Method,
                ["images"] = e.Result.Images,
                ["mean"] = mean,
                ["classes"] = classes,
            });
        }
        var root = new JsonObject { ["image_size"] = size, ["metrics"] = new JsonArray([.. Metrics.Select(m => (JsonNode?)m)]), ["heads"] = heads };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonNode? Value(MetricValue v) => v.IsDefined ? JsonValue.Create(v.Value) : null;
}
