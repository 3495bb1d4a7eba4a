// A sharded eval: each shard scores its samples and keeps raw maps and scores; the merge computes the exact metrics.
using System.Globalization;
using System.Runtime.InteropServices;
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Reports;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.IO;
using VcpNative.IO.Results;
using VcpNative.IO.Sharding;
using VcpNative.Tensors;

namespace VcpNative;

/// <summary>
/// The metrics of a class need all its maps at once (per-class min-max, AUPRO's region overlap), so a shard computes
/// none: it writes eval-maps.bin, per scored sample its index in the full list, its raw score and its raw map
/// (float32 S x S: 4*S*S + 8 bytes per image, 1.07 MB at 518), and the merge reads the dataset's masks again and runs
/// <see cref="ClassMetrics.Compute"/> on the very values a single eval would have.
/// </summary>
internal static class EvalShard
{
    public const string Kind = "eval";
    private const string DataFile = "eval-maps.bin";

    /// <summary>Scores this shard's samples of <paramref name="samples"/> into <see cref="DatasetRunOptions.Output"/>.</summary>
    public static EvaluationOutcome Run(EvaluatorOptions options, ShardSpec spec, IReadOnlyList<DatasetSample> samples, IBackend backend, IRunObserver observer)
    {
        if (options.SaveMaps)
        {
            throw new RunSetupException(nameof(EvaluatorOptions.SaveMaps), "saving maps is not available in a shard of an eval (the merge does not bring maps over)");
        }
        var paths = samples.Select(s => s.ImagePath).ToList();
        using var model = AnomalyModelLoader.Load(options.Clip, options.Head, options.ImageSize, backend, options.Method);
        model.UseImageBlockCompute(options.Compute);
        var fingerprint = ModelFingerprint.Of(options.Clip, options.Head);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["layout"] = options.Layout.ToString(),
            ["classes"] = options.Classes ?? "",
            ["image_size"] = options.ImageSize.ToString(CultureInfo.InvariantCulture),
            ["normalisation"] = model.Inference.Normalisation.ToString(),
            ["method"] = model.Method,
            // For the merged report's settings (a single eval shows them too).
            ["clip"] = Path.GetFileName(options.Clip),
            ["head"] = Path.GetFileName(options.Head),
            ["fingerprint"] = fingerprint,
        };
        var settings = $"method={model.Method} image_size={options.ImageSize} layout={options.Layout} classes={options.Classes ?? "all"} weights={fingerprint}"
            // Shards computed in int8 must not be merged with fp32 ones (fp32 keeps the settings line earlier versions wrote).
            + (options.Compute == Tensors.LinearCompute.Int8 ? " compute=int8" : "");
        var shard = new ShardedRun(Kind, spec, [options.Root], paths, [.. paths.Select(p => ShardKeys.Key(p, options.Root))], settings, parameters);
        Directory.CreateDirectory(options.Output);
        if (!shard.Continues(options.Output) && Directory.EnumerateFileSystemEntries(options.Output).Any())
        {
            throw new RunSetupException(nameof(options.Output), $"{options.Output} is not empty and holds no shard of this run");
        }
        shard.Start(options.Output, paths);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < paths.Count; i++)
        {
            index[paths[i]] = i;
        }
        var mine = shard.Select(samples);
        var failures = new List<InputFailure>();
        var scored = 0;
        var stage = "eval " + model.Method + " shard " + spec;
        var temp = Path.Combine(options.Output, DataFile + AtomicFile.TempSuffix);
        using (var data = new BinaryWriter(new FileStream(temp, FileMode.Create, FileAccess.Write)))
        {
            DatasetEvaluation.Run(model.Inference, backend, mine, options.BatchSize, Evaluator.ObservedEvents(observer, stage, mine.Count, failures,
                (sample, result) =>
                {
                    data.Write(index[sample.ImagePath]);
                    data.Write(result.Score);
                    data.Write(MemoryMarshal.AsBytes(result.Map.AsSpan()));
                    scored++;
                }), metrics: false);
            data.BaseStream.Flush();
            ((FileStream)data.BaseStream).Flush(flushToDisk: true);
        }
        File.Move(temp, Path.Combine(options.Output, DataFile), overwrite: true);
        observer.OnStageFinished(stage);
        shard.Finish(options.Output);
        return new EvaluationOutcome(model.Method, [], scored, failures);
    }

    /// <summary>The metrics of the whole dataset from the checked shards; writes results.* and metrics.* as a single eval does.</summary>
    public static ShardMergeOutcome Merge(IReadOnlyList<ShardMerge.Shard> shards, string[] paths, string output, bool writeReport = true)
    {
        var manifest = shards[0].Manifest;
        var parameters = manifest.Parameters;
        var root = manifest.Roots[0];
        var size = int.Parse(parameters["image_size"], CultureInfo.InvariantCulture);
        var normalisation = Enum.Parse<ClassNormalisation>(parameters["normalisation"]);
        var classes = parameters["classes"] is { Length: > 0 } c ? c : null;
        IReadOnlyList<DatasetSample> samples;
        try
        {
            samples = Evaluator.ReadSamples(Enum.Parse<DatasetLayout>(parameters["layout"]), root, classes);
        }
        catch (DatasetException e)
        {
            throw new ShardException($"the dataset of the run cannot be read again: {e.Message}", e);
        }
        if (samples.Count != paths.Length || !samples.Select(s => s.ImagePath).SequenceEqual(paths, StringComparer.Ordinal))
        {
            throw new ShardException($"{root}: the dataset's test images changed since the shards ran ({samples.Count} now, {paths.Length} then)");
        }
        var scores = new float?[paths.Length];
        var maps = new float[paths.Length][];
        var pixels = size * size;
        foreach (var shard in shards)
        {
            var file = Path.Combine(shard.Folder, DataFile);
            if (!File.Exists(file))
            {
                throw new ShardException($"{file}: missing (the shard's manifest says it finished)");
            }
            using var data = new BinaryReader(File.OpenRead(file));
            var record = 8L + 4L * pixels;
            if (data.BaseStream.Length % record != 0)
            {
                throw new ShardException($"{file}: {data.BaseStream.Length} bytes is not a whole number of {record}-byte records for {size}x{size} maps");
            }
            for (long r = 0; r < data.BaseStream.Length / record; r++)
            {
                var i = data.ReadInt32();
                if (i < 0 || i >= paths.Length || scores[i] is not null)
                {
                    throw new ShardException($"{file}: record {r + 1} names input {i}, outside the list or already given");
                }
                scores[i] = data.ReadSingle();
                maps[i] = new float[pixels];
                data.BaseStream.ReadExactly(MemoryMarshal.AsBytes(maps[i].AsSpan()));
            }
        }
        var records = new List<ImageResultRecord>();
        var rows = new List<ClassMetrics>();
        var failed = 0;
        // The same report as a single eval's, from the same maps, scores and masks (settings from the shards' manifest).
        var report = writeReport ? new EvalReportCollector(output) : null;
        foreach (var group in samples.Select((s, i) => (Sample: s, Index: i)).GroupBy(x => x.Sample.ClassName, StringComparer.Ordinal))
        {
            var scored = group.Where(x => scores[x.Index] is not null).ToList();
            failed += group.Count() - scored.Count;
            if (scored.Count == 0)
            {
                continue;
            }
            var classMaps = new float[(long)scored.Count * pixels];
            var masks = new byte[classMaps.Length];
            for (var k = 0; k < scored.Count; k++)
            {
                maps[scored[k].Index].CopyTo(classMaps, (long)k * pixels);
                DatasetEvaluation.LoadMask(scored[k].Sample, size).CopyTo(masks, (long)k * pixels);
                records.Add(new ImageResultRecord(scored[k].Sample.ImagePath, scores[scored[k].Index]!.Value, null, null, null, null));
            }
            float[] classScores = [.. scored.Select(x => scores[x.Index]!.Value)];
            byte[] labels = [.. scored.Select(x => x.Sample.IsAnomalous ? (byte)1 : (byte)0)];
            var (row, curves) = ClassMetrics.ComputeWithCurves(group.Key, classMaps, masks, size, classScores, labels, normalisation, recordCurves: report is not null);
            rows.Add(row);
            // classMaps was normalised in place; the report colours the raw maps, as a single eval's does.
            report?.Add(row, curves, new ScoredClass([.. scored.Select(x => x.Sample)], [.. scored.Select(x => maps[x.Index])],
                [.. Enumerable.Range(0, scored.Count).Select(k => masks.AsSpan(k * pixels, pixels).ToArray())], classScores, labels, size, normalisation));
        }
        Directory.CreateDirectory(output);
        ResultsWriter.Write(output, records);
        MetricsReport.Write(output, rows);
        if (report is not null)
        {
            var settings = new List<KeyValuePair<string, string>>
            {
                new("method", parameters["method"]),
                new("clip", manifest.Recorded("clip")),
                new("head", manifest.Recorded("head")),
                new("model fingerprint", manifest.Recorded("fingerprint")),
                new("image size", parameters["image_size"]),
                new("dataset", $"{root} (layout {parameters["layout"]}, classes {classes ?? "all"}, {samples.Count} test images)"),
                new("merged from", $"{shards.Count} shards (each with its own device and batch size)"),
            };
            settings.AddRange(ReportSettings.Common());
            EvalReport.Write(output, parameters["method"], report.Classes, settings);
        }
        return new ShardMergeOutcome(Kind, shards.Count, paths.Length, failed, rows);
    }
}
