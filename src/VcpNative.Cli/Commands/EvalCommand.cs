// `vcp-native eval`: run VCP-CLIP or ViP2-CLIP over a labelled dataset and report the authors' metrics per class and on average.
using System.CommandLine;
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Inference;
using VcpNative.IO;
using VcpNative.IO.Results;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights (as for infer)", Required = true };
        var head = MethodOptions.Head();
        var method = MethodOptions.Method();
        var dataset = DatasetOptions.Dataset();
        var root = DatasetOptions.Root();
        var classes = DatasetOptions.Classes();
        var size = new Option<int>("--image-size") { Description = "Square input size", DefaultValueFactory = _ => 518 };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };
        var saveMaps = new Option<bool>("--save-maps") { Description = "Write maps/<stem>.npy before per-class normalisation" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder", Required = true };
        var command = new Command("eval", "Evaluate VCP-CLIP or ViP2-CLIP on a dataset: pixel/image AUROC, AUPRO, AP, F1-max, IoU per class")
        {
            clip, head, method, dataset, root, classes, size, batch, saveMaps, output,
        };
        command.SetAction(parse => Run(
            parse.GetValue(clip)!, parse.GetValue(head)!, parse.GetValue(method), DatasetOptions.Layout(parse.GetValue(dataset)!), parse.GetValue(root)!,
            parse.GetValue(classes), parse.GetValue(size), parse.GetValue(batch), parse.GetValue(saveMaps), parse.GetValue(output)!,
            GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(string clipPath, string headPath, string? method, DatasetLayout layout, string root, string? classFilter, int size, int batchSize,
        bool saveMaps, string output, IBackend backend, TextWriter stdout, TextWriter stderr)
    {
        var samples = ReadSamples(layout, root, classFilter);
        var result = Evaluate(clipPath, headPath, method, samples, size, batchSize, saveMaps, output, backend, stderr);
        stdout.Write(MetricsReport.Markdown(result.Rows, MetricsReport.Mean(result.Rows)));
        stdout.WriteLine($"eval ({result.Method}): {result.Images} images, {result.Rows.Count} {(result.Rows.Count == 1 ? "class" : "classes")}; metrics in {Path.Combine(output, "metrics.md")}");
        return ReportFailures(result.Failures, stderr);
    }

    /// <summary>The test samples of a dataset; none is an error naming the root, layout and class filter.</summary>
    public static IReadOnlyList<DatasetSample> ReadSamples(DatasetLayout layout, string root, string? classFilter)
    {
        var samples = DatasetReader.Read(root, layout, DatasetSplit.Test, DatasetReader.ParseClassList(classFilter));
        if (samples.Count == 0)
        {
            throw new DatasetException($"{root}: no test images found for layout {layout}{(classFilter is null ? "" : $" and classes {classFilter}")}");
        }
        return samples;
    }

    /// <summary>One method's evaluation: its metrics per class, how many images were scored, and the failed inputs.</summary>
    public sealed record EvalResult(string Method, IReadOnlyList<ClassMetrics> Rows, int Images, IReadOnlyList<string> Failures);

    /// <summary>
    /// Runs one head file (method detected unless given) over the samples, class by class, writing results.json and
    /// metrics.* to <paramref name="output"/> as it goes; maps are normalised per class only if the method does so.
    /// </summary>
    public static EvalResult Evaluate(string clipPath, string headPath, string? method, IReadOnlyList<DatasetSample> samples, int size, int batchSize,
        bool saveMaps, string output, IBackend backend, TextWriter stderr)
    {
        using var model = AnomalyModelLoader.Load(clipPath, headPath, size, backend, method);
        var inference = model.Inference;
        Directory.CreateDirectory(output);
        if (saveMaps)
        {
            Directory.CreateDirectory(Path.Combine(output, "maps"));
        }
        var stems = new UniqueStems();
        var records = new List<ImageResultRecord>();
        var failures = new List<string>();
        var finished = new List<ClassMetrics>();
        IReadOnlyList<ClassMetrics> rows;
        using (var progress = new ProgressReporter("eval " + model.Method, samples.Count, stderr))
        {
            rows = DatasetEvaluation.Run(inference, backend, samples, batchSize, new EvaluationEvents
            {
                ImageDone = (sample, result) =>
                {
                    string? mapPath = null;
                    if (saveMaps)
                    {
                        mapPath = Path.Combine("maps", stems.For(sample.ImagePath) + ".npy");
                        NpyWriter.Write(Path.Combine(output, mapPath), result.Map, size, size);
                    }
                    records.Add(new ImageResultRecord(sample.ImagePath, result.Score, null, mapPath, null, null));
                },
                ImageFailed = (path, e) =>
                {
                    failures.Add($"{path}: {CliApp.OneLine(e)}");
                    stderr.WriteLine($"vcp-native: skipped {path}: {CliApp.OneLine(e)}");
                },
                BatchDone = done =>
                {
                    ResultsWriter.Write(output, records);
                    progress.Advance(done);
                },
                ClassDone = row =>
                {
                    finished.Add(row);
                    MetricsReport.Write(output, finished);
                },
            });
            ResultsWriter.Write(output, records);
        }
        MetricsReport.Write(output, rows);
        return new EvalResult(model.Method, rows, records.Count, failures);
    }

    /// <summary>Lists failed inputs on stderr; exit code 3 when there were any.</summary>
    public static int ReportFailures(IReadOnlyList<string> failures, TextWriter stderr)
    {
        if (failures.Count == 0)
        {
            return ExitCodes.Ok;
        }
        stderr.WriteLine($"vcp-native: {failures.Count} input(s) failed:");
        foreach (var f in failures)
        {
            stderr.WriteLine($"  {f}");
        }
        return ExitCodes.PartialFailure;
    }
}
