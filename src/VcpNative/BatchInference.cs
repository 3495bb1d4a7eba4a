// `infer` as a production batch job: journal per batch, resume, interrupt, atomic outputs, one record per input.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Anomaly.Reports;
using VcpNative.Anomaly.Visualization;
using VcpNative.IO;
using VcpNative.IO.Images;
using VcpNative.IO.Results;
using VcpNative.IO.Sharding;
using VcpNative.Tensors;

namespace VcpNative;

/// <summary>
/// Runs a method over image files and folders into an output folder. Every finished input is appended to
/// results.jsonl (fsynced per batch); results.json and results.csv are written from it once, at the end, also when the
/// job is cancelled or fails, so per-image cost does not grow with the number of images done. A per-input error is that
/// input's record; only errors of the job itself (a full disk, a model that does not load) end it. See docs/batch-jobs.md.
/// </summary>
public sealed class BatchInference : PipelineRun
{
    /// <summary>Files and folders an earlier run writes into the output folder (what <see cref="ExistingOutput.Overwrite"/> clears).</summary>
    private static readonly string[] OwnFiles = [ResultsJournal.FileName, "results.json", "results.csv", ShardManifest.FileName, ShardManifest.InputsFileName, InferReport.FileName];
    private static readonly string[] OwnFolders = ["overlays", "masks", "maps", InferReport.FolderName];

    /// <summary>A job on <paramref name="backend"/> reporting to <paramref name="observer"/>.</summary>
    /// <param name="backend">Backend of the model and the batches.</param>
    /// <param name="observer">Progress ("infer" stage), failed inputs; null for none.</param>
    public BatchInference(IBackend backend, IRunObserver? observer = null) : base(backend, observer)
    {
    }

    /// <summary>
    /// Runs the job. Settings, inputs and the output folder are checked before the model is loaded; cancelling
    /// <paramref name="cancellationToken"/> finishes the batch in flight, writes the results and returns with
    /// <see cref="BatchInferenceOutcome.Interrupted"/> set.
    /// </summary>
    /// <param name="options">What to run.</param>
    /// <param name="cancellationToken">Stops the job between batches.</param>
    /// <exception cref="RunSetupException">A setting, input or the output folder cannot be used; nothing was done.</exception>
    /// <exception cref="DiskFullException">The output disk filled; the journal holds every finished input.</exception>
    public BatchInferenceOutcome Run(BatchInferenceOptions options, CancellationToken cancellationToken = default)
    {
        var unsupported = new List<string>();
        var keys = options.Shard is null ? null : new List<string>();
        var files = Expand(options, unsupported, keys);
        var imageSize = options.ImageSize ?? AnomalyModelLoader.TrainedImageSize(options.Head) ?? DetectorOptions.DefaultImageSize;
        // The fingerprint hashes the weight files: computed once, and only when a shard or a threshold file needs it.
        string? fingerprint = null;
        string Fingerprint() => fingerprint ??= ModelFingerprint.Of(options.Clip, options.Head);
        var shard = options.Shard is { } spec ? new ShardedRun("infer", spec, options.Inputs, files, keys!, ShardSettings(options, imageSize, Fingerprint())) : null;
        var mine = shard?.Select(files) ?? files;
        var earlier = PrepareOutput(options, shard);
        if (options.Calibration is { } calibration
            && calibration.Mismatch(options.Method ?? AnomalyModelLoader.DetectMethod(options.Head), imageSize, Fingerprint()) is string why)
        {
            throw new RunSetupException(nameof(options.Threshold), $"the threshold file does not fit: {why}; calibrate again with these settings");
        }
        if (AnomalyModelLoader.ImageSizeProblem(options.Clip, imageSize) is string sizeProblem)
        {
            throw new RunSetupException(nameof(options.ImageSize), sizeProblem);
        }
        using var model = AnomalyModelLoader.Load(options.Clip, options.Head, imageSize, Backend, options.Method);
        model.UseImageBlockCompute(options.Compute);
        var method = AnomalyMethods.ByName(model.Method, options.Head);
        var header = new ResultsHeader(model.Method, imageSize, options.Threshold, method.ScoreMeaning, method.ScoreMaximum);
        CreateFolders(options);
        if (shard is not null)
        {
            var parameters = ShardManifest.HeaderParameters(header);
            // For the merged report's settings block.
            parameters["clip"] = Path.GetFileName(options.Clip);
            parameters["head"] = Path.GetFileName(options.Head);
            parameters["fingerprint"] = Fingerprint();
            shard.Start(options.Output, files, parameters);
        }

        // Stems follow input order over all inputs, so names do not depend on which inputs failed or were resumed.
        var stems = new UniqueStems();
        var stemOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new Dictionary<string, JournalEntry>(StringComparer.Ordinal);
        var todo = new List<string>();
        var stat = new Dictionary<string, (long Size, DateTime Modified)>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            stemOf[file] = stems.For(file);
        }
        foreach (var file in mine)
        {
            var info = new FileInfo(file);
            if (earlier.TryGetValue(file, out var entry) && entry.Matches(info))
            {
                entries[file] = entry;
                continue;
            }
            stat[file] = info.Exists ? (info.Length, info.LastWriteTimeUtc) : (0, default);
            todo.Add(file);
        }
        var resumed = entries.Count;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var interrupted = false;
        var processed = 0;
        var finished = false;
        using (var journal = new ResultsJournal(options.Output))
        {
            void Record(JournalEntry entry)
            {
                entries[entry.Input] = entry;
                journal.Add(entry);
            }
            var loop = new ImageInferenceLoop(model.Inference, Backend, options.BatchSize, inFlight: options.InFlight);
            try
            {
                loop.Run(
                    todo.Select(ImageInput.FromFile),
                    (item, result) =>
                    {
                        var path = item.Input.Name;
                        var record = WriteOutputs(options, stemOf[path], item, result);
                        Record(new JournalEntry(path, stat[path].Size, stat[path].Modified, record, null));
                    },
                    (input, error) =>
                    {
                        var (size, modified) = stat[input.Name];
                        Record(new JournalEntry(input.Name, size, modified, null, ErrorText.OneLine(error)));
                        Observer.OnInputFailed(new InputFailure(input.Name, error), validation: false);
                    },
                    done =>
                    {
                        journal.Flush();
                        processed += done;
                        Observer.OnProgress("infer", processed, todo.Count, null);
                    },
                    cancellationToken);
                journal.Flush();
                finished = true;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                journal.Flush();
                interrupted = finished = true;
            }
            finally
            {
                // Also on a fatal error: whatever finished is in results.json (a second disk-full error is not the first's news).
                WriteResults(options.Output, mine, entries, header, rethrow: finished);
            }
        }
        if (!interrupted)
        {
            shard?.Finish(options.Output);
        }
        // Also after an interruption: the report shows what is done, and the resumed run rewrites it.
        var report = options.Report
            ? InferReport.Write(options.Output, new InferReportSettings(options.Clip, options.Head, Backend.Name))
            : null;
        Observer.OnStageFinished("infer");
        var failures = new List<FailedInput>();
        var succeeded = 0;
        var flagged = 0;
        foreach (var file in mine)
        {
            if (!entries.TryGetValue(file, out var e))
            {
                continue;
            }
            if (e.Result is { } r)
            {
                succeeded++;
                flagged += r.Anomalous == true ? 1 : 0;
            }
            else
            {
                failures.Add(new FailedInput(file, e.Error ?? ""));
            }
        }
        processed = entries.Count - resumed;
        return new BatchInferenceOutcome(model.Method, imageSize, mine.Count, succeeded, failures, resumed, processed, flagged, unsupported, interrupted,
            clock.Elapsed, Path.Combine(options.Output, "results.json"))
        {
            ReportPath = report,
        };
    }

    private static List<string> Expand(BatchInferenceOptions options, List<string> unsupported, List<string>? keys)
    {
        if (options.BatchSize < 1)
        {
            throw new RunSetupException(nameof(options.BatchSize), $"{options.BatchSize} images per batch: at least 1");
        }
        if (options.InFlight < 1 || options.InFlight > Tensors.CpuThreadPool.Current.Threads)
        {
            throw new RunSetupException(nameof(options.InFlight), $"{options.InFlight} batches in flight: between 1 and the {Tensors.CpuThreadPool.Current.Threads} CPU threads");
        }
        var missing = new List<string>();
        var files = ImageFiles.Expand(options.Inputs, missing, unsupported, options.Output, keys);
        if (missing.Count > 0)
        {
            throw new RunSetupException(nameof(options.Inputs), $"{string.Join(", ", missing)}: no such file or folder");
        }
        unsupported.Sort(StringComparer.Ordinal);
        if (files.Count == 0)
        {
            throw new RunSetupException(nameof(options.Inputs),
                $"no image files among the inputs (extensions {string.Join(", ", ImageFiles.Extensions)}{(unsupported.Count > 0 ? $"; {unsupported.Count} other file(s) skipped" : "")})");
        }
        return files;
    }

    /// <summary>Checks the output folder against <see cref="BatchInferenceOptions.ExistingOutput"/>; the earlier run's entries by input.</summary>
    private static Dictionary<string, JournalEntry> PrepareOutput(BatchInferenceOptions options, ShardedRun? shard)
    {
        var earlier = new Dictionary<string, JournalEntry>(StringComparer.Ordinal);
        var dir = options.Output;
        if (File.Exists(dir))
        {
            throw new RunSetupException(nameof(options.Output), $"{dir} is a file, not a folder");
        }
        if (!Directory.Exists(dir) || !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            return earlier;
        }
        // A retried shard (Slurm requeue, Kubernetes backoff) continues its own folder; another run's shard is refused.
        var existing = options.ExistingOutput != ExistingOutput.Overwrite && shard is not null && shard.Continues(dir) ? ExistingOutput.Resume : options.ExistingOutput;
        switch (existing)
        {
            case ExistingOutput.Refuse:
                throw new RunSetupException(nameof(options.Output), $"{dir} is not empty: resume the run that wrote it, or overwrite its outputs");
            case ExistingOutput.Overwrite:
                foreach (var file in OwnFiles)
                {
                    File.Delete(Path.Combine(dir, file));
                }
                foreach (var folder in OwnFolders.Select(f => Path.Combine(dir, f)).Where(Directory.Exists))
                {
                    Directory.Delete(folder, recursive: true);
                }
                return earlier;
        }
        foreach (var entry in ResultsJournal.Read(dir))
        {
            earlier[entry.Input] = entry; // a later line for the same input (it changed and was redone) wins
        }
        // Temporary files of writes a killed run never renamed.
        foreach (var folder in OwnFolders.Select(f => Path.Combine(dir, f)).Where(Directory.Exists).Append(dir))
        {
            // Our folders with their subfolders (report_files/thumbs); the output folder itself only at its top.
            var depth = folder == dir ? SearchOption.TopDirectoryOnly : SearchOption.AllDirectories;
            foreach (var temp in Directory.EnumerateFiles(folder, "*" + AtomicFile.TempSuffix, depth))
            {
                File.Delete(temp);
            }
        }
        return earlier;
    }

    /// <summary>What every shard of one run must share besides its inputs: method, sizes, thresholds, outputs, weights.</summary>
    private static string ShardSettings(BatchInferenceOptions o, int imageSize, string fingerprint) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"method={o.Method ?? AnomalyModelLoader.DetectMethod(o.Head)} image_size={imageSize} threshold={o.Threshold?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "none"} pixel_threshold={o.PixelThreshold:R} save_maps={o.SaveMaps} maps_at={o.MapsAt} weights={fingerprint}");

    private static void CreateFolders(BatchInferenceOptions options)
    {
        Directory.CreateDirectory(options.Output);
        if (options.SaveMaps)
        {
            Directory.CreateDirectory(Path.Combine(options.Output, "maps"));
        }
        Directory.CreateDirectory(Path.Combine(options.Output, "overlays"));
        if (options.Threshold is not null)
        {
            Directory.CreateDirectory(Path.Combine(options.Output, "masks"));
        }
    }

    private static void WriteResults(string output, List<string> files, Dictionary<string, JournalEntry> entries, ResultsHeader header, bool rethrow)
    {
        var ordered = new List<JournalEntry>(entries.Count);
        foreach (var file in files)
        {
            if (entries.TryGetValue(file, out var entry))
            {
                ordered.Add(entry);
            }
        }
        try
        {
            ResultsWriter.Write(output, ordered, header);
        }
        catch (DiskFullException) when (!rethrow)
        {
        }
    }

    /// <summary>
    /// The image's files: the overlay and mask at the image's own size (the map resized bilinearly to it, drawn over the
    /// decoded image), the map at the model's size or, with <see cref="MapResolution.Original"/>, the resized one.
    /// </summary>
    private static ImageResultRecord WriteOutputs(BatchInferenceOptions s, string stem, ImageInferenceItem item, AnomalyImageResult result)
    {
        var original = item.Original;
        var mapAtOriginal = MapResize.ToSize(result.Map, result.Size, original.Width, original.Height);
        string? mapPath = null;
        string? maskPath = null;
        if (s.SaveMaps)
        {
            mapPath = Path.Combine("maps", stem + ".npy");
            using var npy = new MemoryStream();
            if (s.MapsAt == MapResolution.Original)
            {
                NpyWriter.Write(npy, mapAtOriginal, original.Height, original.Width);
            }
            else
            {
                NpyWriter.Write(npy, result.Map, result.Size, result.Size);
            }
            AtomicFile.Write(Path.Combine(s.Output, mapPath), npy.GetBuffer().AsSpan(0, (int)npy.Length));
        }
        var overlayPath = Path.Combine("overlays", stem + ".png");
        var overlay = HeatmapOverlay.Render(original, mapAtOriginal);
        AtomicFile.Write(Path.Combine(s.Output, overlayPath), PngEncoder.Encode(overlay));
        if (s.Report)
        {
            InferReport.WriteThumbnail(s.Output, overlayPath, overlay); // from the pixels in hand: no decode at the end
        }
        bool? anomalous = null;
        if (s.Threshold is double t)
        {
            anomalous = result.Score > t;
            maskPath = Path.Combine("masks", stem + ".png");
            AtomicFile.Write(Path.Combine(s.Output, maskPath), PngEncoder.Encode(HeatmapOverlay.Mask(mapAtOriginal, original.Width, original.Height, s.PixelThreshold)));
        }
        return new ImageResultRecord(item.Input.Name, result.Score, anomalous, mapPath, overlayPath, maskPath, original.Width, original.Height);
    }
}
