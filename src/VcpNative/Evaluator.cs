// Public entry point of evaluation: a head file over a labelled dataset, or several heads side by side.
using System.Diagnostics;
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Anomaly.Reports;
using VcpNative.IO;
using VcpNative.IO.Results;
using VcpNative.Tensors;

namespace VcpNative;

/// <summary>One head's evaluation.</summary>
/// <param name="Method">The method it ran as.</param>
/// <param name="Rows">Metrics per class.</param>
/// <param name="Images">Images scored.</param>
/// <param name="Failures">Inputs that could not be read or scored.</param>
public sealed record EvaluationOutcome(string Method, IReadOnlyList<ClassMetrics> Rows, int Images, IReadOnlyList<InputFailure> Failures)
{
    /// <summary>What report.html showed per class (curves, worst images); null when no report was written.</summary>
    internal IReadOnlyList<ClassReport>? Report { get; init; }

    /// <summary>Wall time spent collecting and writing the report (thumbnails, page), for docs/reports.md's cost figures.</summary>
    internal TimeSpan ReportTime { get; init; }
}

/// <summary>Several heads' evaluations on one dataset.</summary>
/// <param name="Heads">Per head: file, label (&lt;n&gt;-&lt;method&gt;), method and rows, in the given order.</param>
/// <param name="Images">Test images of the dataset.</param>
/// <param name="Markdown">The compare.md table, as written.</param>
/// <param name="Failures">Inputs that failed, over all heads.</param>
public sealed record ComparisonOutcome(IReadOnlyList<ComparedHead> Heads, int Images, string Markdown, IReadOnlyList<InputFailure> Failures);

/// <summary>
/// Runs a method over a labelled dataset class by class with the authors' metrics (per-class normalisation only if the
/// method's authors do it), writing results.json/csv and metrics.* as it goes, so an interrupted run keeps what it did.
/// </summary>
public sealed class Evaluator : PipelineRun
{
    /// <summary>An evaluator running on <paramref name="backend"/>, reporting to <paramref name="observer"/> (none: silent).</summary>
    /// <param name="backend">Backend of the model.</param>
    /// <param name="observer">Receiver of progress and failed inputs.</param>
    public Evaluator(IBackend backend, IRunObserver? observer = null)
        : base(backend, observer)
    {
    }

    /// <summary>Reads the dataset and evaluates one head file on it.</summary>
    /// <param name="options">Files, dataset, sizes and output folder.</param>
    /// <returns>The method, its rows (none for a shard: <see cref="ShardMerge"/> computes them), the images scored and the failed inputs.</returns>
    public EvaluationOutcome Run(EvaluatorOptions options)
    {
        var samples = ReadSamples(options.Layout, options.Root, options.Classes);
        return options.Shard is { } shard ? EvalShard.Run(options, shard, samples, Backend, Observer) : Evaluate(options, samples);
    }

    /// <summary>Evaluates every head of <paramref name="options"/> into OUT/&lt;n&gt;-&lt;method&gt;/, then writes compare.md and compare.json.</summary>
    /// <param name="options">CLIP, heads, dataset, sizes and output folder.</param>
    /// <returns>Every head's rows, the compare.md text and the failed inputs.</returns>
    public ComparisonOutcome Compare(ComparisonOptions options)
    {
        if (options.Heads.Count < 2)
        {
            throw new RunSetupException(nameof(ComparisonOptions.Heads), $"needs at least two head files to compare, got {options.Heads.Count}");
        }
        var samples = ReadSamples(options.Layout, options.Root, options.Classes);
        Directory.CreateDirectory(options.Output);
        var heads = new List<ComparedHead>();
        var reports = new List<IReadOnlyList<ClassReport>>();
        var failures = new List<InputFailure>();
        for (var i = 0; i < options.Heads.Count; i++)
        {
            var head = options.Heads[i];
            var method = AnomalyModelLoader.DetectMethod(head);
            var label = $"{i + 1}-{method}";
            var result = Evaluate(new EvaluatorOptions(options, head) { Method = method, Output = Path.Combine(options.Output, label) }, samples);
            heads.Add(new ComparedHead(head, label, result.Method, result.Images, result.Rows));
            reports.Add(result.Report ?? []);
            failures.AddRange(result.Failures);
        }
        var markdown = ComparisonReport.Markdown(heads, options.PerClass, [.. AnomalyMethods.All.Select(m => (m.Title, m.Normalisation))]);
        ResultsWriter.WriteAtomically(Path.Combine(options.Output, "compare.md"), markdown);
        ResultsWriter.WriteAtomically(Path.Combine(options.Output, "compare.json"), ComparisonReport.Json(heads, options.ImageSize));
        if (options.WriteReport)
        {
            var settings = new List<KeyValuePair<string, string>> { new("clip", Path.GetFileName(options.Clip)) };
            foreach (var h in heads)
            {
                settings.Add(new($"head {h.Label}", $"{Path.GetFileName(h.Head)} (method {h.Method}, model fingerprint {ModelFingerprint.Of(options.Clip, h.Head)})"));
            }
            settings.Add(new("image size", options.ImageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            settings.Add(new("device", Backend.Name));
            settings.AddRange(RunSettings(options, samples.Count));
            settings.AddRange(ReportSettings.Common());
            CompareReport.Write(options.Output, heads, reports, settings);
        }
        else
        {
            EvalReport.RemoveStale(options.Output);
        }
        return new ComparisonOutcome(heads, samples.Count, markdown, failures);
    }

    /// <summary>The test samples of a dataset; none is an error naming the root, layout and class filter.</summary>
    /// <param name="layout">Dataset layout.</param>
    /// <param name="root">Dataset root.</param>
    /// <param name="classFilter">Comma-separated classes, or null for all.</param>
    /// <returns>The samples, in the reader's order.</returns>
    public static IReadOnlyList<DatasetSample> ReadSamples(DatasetLayout layout, string root, string? classFilter)
    {
        var samples = DatasetReader.Read(root, layout, DatasetSplit.Test, DatasetReader.ParseClassList(classFilter));
        if (samples.Count == 0)
        {
            throw new DatasetException($"{root}: no test images found for layout {layout}{(classFilter is null ? "" : $" and classes {classFilter}")}");
        }
        return samples;
    }

    /// <summary>Runs one head file (method detected unless given) over <paramref name="samples"/>, writing results and metrics to the options' output.</summary>
    /// <param name="options">Files, sizes and output folder (<see cref="DatasetRunOptions.Root"/> is not read again).</param>
    /// <param name="samples">The images to score.</param>
    /// <returns>The method, its rows, the images scored and the failed inputs.</returns>
    public EvaluationOutcome Evaluate(EvaluatorOptions options, IReadOnlyList<DatasetSample> samples)
    {
        // The report's model fingerprint hashes 4 MiB (about 20 ms of CPU, docs/reports.md "Cost"): started first, it runs
        // beside the model load, which keeps one core busy, instead of after the run.
        var fingerprint = options.WriteReport ? Task.Run(() => ReportSettings.Fingerprint(options.Clip, options.Head)) : null;
        using var model = AnomalyModelLoader.Load(options.Clip, options.Head, options.ImageSize, Backend, options.Method);
        model.UseImageBlockCompute(options.Compute);
        var output = options.Output;
        Directory.CreateDirectory(output);
        if (options.SaveMaps)
        {
            Directory.CreateDirectory(Path.Combine(output, "maps"));
        }
        var stems = new UniqueStems();
        var records = new List<ImageResultRecord>();
        var failures = new List<InputFailure>();
        var finished = new List<ClassMetrics>();
        var stage = "eval " + model.Method;
        if (!options.WriteReport)
        {
            // A report left by an earlier run in this folder would show that run's numbers beside this run's metrics.
            EvalReport.RemoveStale(output);
        }
        var report = options.WriteReport ? new EvalReportCollector(output) : null;
        var reportTime = TimeSpan.Zero;
        var rows = DatasetEvaluation.Run(model.Inference, Backend, samples, options.BatchSize, ObservedEvents(Observer, stage, samples.Count, failures,
            (sample, result) =>
            {
                string? mapPath = null;
                if (options.SaveMaps)
                {
                    mapPath = Path.Combine("maps", stems.For(sample.ImagePath) + ".npy");
                    NpyWriter.Write(Path.Combine(output, mapPath), result.Map, options.ImageSize, options.ImageSize);
                }
                records.Add(new ImageResultRecord(sample.ImagePath, result.Score, null, mapPath, null, null));
            },
            row =>
            {
                finished.Add(row);
                // Per class, not per batch: rewriting results.json after every batch made eval quadratic in images.
                ResultsWriter.Write(output, records);
                MetricsReport.Write(output, finished);
            },
            report is null ? null : (row, curves, scored) =>
            {
                var start = Stopwatch.GetTimestamp();
                report.Add(row, curves, scored);
                reportTime += Stopwatch.GetElapsedTime(start);
            }));
        ResultsWriter.Write(output, records);
        Observer.OnStageFinished(stage);
        MetricsReport.Write(output, rows);
        if (report is not null && fingerprint is not null)
        {
            var start = Stopwatch.GetTimestamp();
            EvalReport.Write(output, model.Method, report.Classes,
                ReportSettings.ForModel(options.Clip, options.Head, model.Method, options.ImageSize, Backend.Name, RunSettings(options, samples.Count),
                    fingerprint.GetAwaiter().GetResult()));
            reportTime += Stopwatch.GetElapsedTime(start);
        }
        return new EvaluationOutcome(model.Method, rows, records.Count, failures) { Report = report?.Classes, ReportTime = reportTime };
    }

    // The dataset lines of a report's settings block.
    private static List<KeyValuePair<string, string>> RunSettings(DatasetRunOptions options, int images) =>
    [
        new("dataset", $"{options.Root} (layout {options.Layout}, classes {options.Classes ?? "all"}, {images} test images)"),
        new("batch size", options.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    /// <summary>
    /// An eval run's events: each unreadable image recorded in <paramref name="failures"/> and reported, progress after
    /// each batch under <paramref name="stage"/>; <paramref name="imageDone"/> and <paramref name="classDone"/> as given.
    /// </summary>
    internal static EvaluationEvents ObservedEvents(IRunObserver observer, string stage, int total, List<InputFailure> failures,
        Action<DatasetSample, AnomalyImageResult> imageDone, Action<ClassMetrics>? classDone = null, Action<ClassMetrics, ClassCurves, ScoredClass>? classReport = null)
    {
        var done = 0;
        return new EvaluationEvents
        {
            ImageDone = imageDone,
            ImageFailed = (path, e) =>
            {
                var failure = new InputFailure(path, e);
                failures.Add(failure);
                observer.OnInputFailed(failure, validation: false);
            },
            BatchDone = count =>
            {
                done += count;
                observer.OnProgress(stage, done, total, null);
            },
            ClassDone = classDone,
            ClassReport = classReport,
        };
    }
}
