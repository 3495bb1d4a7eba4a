// Public entry point of training: loads CLIP and heads for a method and runs the resumable training loop.
using System.Globalization;
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Anomaly.Reports;
using VcpNative.Anomaly.Training;
using VcpNative.Tensors;

namespace VcpNative;

/// <summary>What a training run did.</summary>
/// <param name="Steps">Optimizer steps done in total (including those before a resume).</param>
/// <param name="LastLoss">The last step's total loss (NaN when no step ran).</param>
/// <param name="Failures">Images that could not be read (training and validation).</param>
public sealed record TrainingOutcome(long Steps, float LastLoss, int Failures);

/// <summary>
/// Trains a method's heads on the test split of an auxiliary dataset (as the authors do): batches through the frozen
/// image tower (features cached when the data are deterministic), optional validation after each epoch, checkpoints
/// (last.safetensors, epoch_k.safetensors) and train_log.jsonl in the output folder; resumable from last.safetensors.
/// </summary>
public sealed class Trainer : PipelineRun
{
    /// <summary>A trainer running on <paramref name="backend"/>, reporting to <paramref name="observer"/> (none: silent).</summary>
    /// <param name="backend">Backend of the model and the batches.</param>
    /// <param name="observer">Receiver of progress, log lines, epochs and checkpoints.</param>
    public Trainer(IBackend backend, IRunObserver? observer = null)
        : base(backend, observer)
    {
    }

    /// <summary>Reads the dataset, loads CLIP and the initial heads for the method, and trains.</summary>
    /// <param name="options">Data, model files, schedule and outputs.</param>
    /// <returns>Steps done, the last loss and the number of unreadable images.</returns>
    public TrainingOutcome Run(TrainerOptions options)
    {
        var method = options.Method is not null ? AnomalyMethods.ByName(options.Method, options.Init ?? options.Clip)
            : options.Init is null ? AnomalyMethods.Default : AnomalyModelLoader.Detect(options.Init);
        if (method.TrainingNeedsInitialHeads && options.Init is null)
        {
            throw new RunSetupException(nameof(TrainerOptions.Init),
                $"method {method.Name} needs initial heads (the authors' {method.Title} .pth or a {method.Name} head file): its prompt buffers are stored there");
        }
        PrepareOutput(options, TrainingSettingsFile.Of(options, method.Name));
        var samples = DatasetReader.Read(options.Data, options.Layout, DatasetSplit.Test, DatasetReader.ParseClassList(options.Classes));
        if (samples.Count == 0)
        {
            throw new DatasetException($"{options.Data}: no images to train on");
        }
        using var model = method.LoadForTraining(options.Clip, options.Init, (int)(options.Seed & 0x7FFFFFFF), options.ImageSize, Backend);
        return Train(method.CreateTrainer(model, options.HeadTraining), samples, options);
    }

    /// <summary>The training loop on an already loaded model (the demo trains the model it evaluates).</summary>
    /// <param name="trainer">The method's trainer, holding the model.</param>
    /// <param name="samples">Training images.</param>
    /// <param name="options">Schedule and outputs (<see cref="TrainerOptions.Clip"/> only fingerprints the feature cache).</param>
    /// <returns>Steps done, the last loss and the number of unreadable images.</returns>
    public TrainingOutcome Train(IHeadTrainer trainer, IReadOnlyList<DatasetSample> samples, TrainerOptions options)
    {
        var s = options;
        Directory.CreateDirectory(s.Output);
        var data = new TrainingData(samples, s.ImageSize, s.Augmentations(), s.Mosaic, s.Seed);
        var cache = data.IsDeterministic
            ? new FeatureCache(s.FeatureCache ?? Path.Combine(s.Output, "feature-cache"), trainer.Method + ":" + FeatureCache.Fingerprint(s.Clip), s.ImageSize)
            : null;
        var last = Path.Combine(s.Output, "last.safetensors");
        var logPath = Path.Combine(s.Output, "train_log.jsonl");
        StartOrResume(trainer, s, last, logPath);
        // Read before the first step, so bad validation data fail at once rather than after an epoch of training.
        var validation = ReadValidation(s);
        var stepsPerEpoch = (data.Count + s.BatchSize - 1) / s.BatchSize;
        var totalSteps = Math.Min((long)stepsPerEpoch * s.Epochs, s.Steps ?? long.MaxValue);
        var loader = new TrainingBatchLoader(trainer, data, cache, Backend, (path, e) => Observer.OnInputFailed(new InputFailure(path, e), validation: false));
        var lastLoss = float.NaN;
        var validationFailures = 0;
        using (var log = new TrainingLog(logPath))
        {
            var run = new Schedule(trainer, s, log, stepsPerEpoch, totalSteps, trainer.StepsDone);
            WriteReport(run, running: trainer.StepsDone < totalSteps);
            while (trainer.StepsDone < totalSteps)
            {
                var epoch = (int)(trainer.StepsDone / stepsPerEpoch);
                var loss = Step(run, data, loader, epoch, (int)(trainer.StepsDone % stepsPerEpoch));
                lastLoss = loss.Total;
                validationFailures += EndStep(run, loss, validation, last);
            }
            WriteReport(run, running: false);
        }
        Observer.OnStageFinished("train");
        if (cache is not null)
        {
            Observer.OnLog($"train: feature cache {cache.Hits} hits, {cache.Misses} misses");
        }
        Observer.OnLog($"train: {trainer.StepsDone} steps; heads in {last}; log in {logPath}");
        return new TrainingOutcome(trainer.StepsDone, lastLoss, validationFailures + loader.Failures);
    }

    /// <summary>One run's fixed facts: trainer, options, log, steps per epoch, the last step, the step it started at.</summary>
    private sealed record Schedule(IHeadTrainer Trainer, TrainerOptions Options, TrainingLog Log, int StepsPerEpoch, long TotalSteps, long FirstStep)
    {
        /// <summary>Steps done in this run, and to do in it, for progress.</summary>
        public (int Done, int Total) Progress => ((int)(Trainer.StepsDone - FirstStep), (int)Math.Max(0, TotalSteps - FirstStep));
    }

    /// <summary>After a step: at an epoch's end validation, the epoch event and checkpoint; last.safetensors when due. Returns validation failures.</summary>
    private int EndStep(Schedule run, TrainingLoss loss, IReadOnlyList<DatasetSample>? validation, string last)
    {
        var (trainer, s) = (run.Trainer, run.Options);
        var epochDone = trainer.StepsDone % run.StepsPerEpoch == 0;
        var finished = (int)(trainer.StepsDone / run.StepsPerEpoch);
        var failures = 0;
        Dictionary<string, string>? validationMetadata = null;
        if (epochDone && validation is not null)
        {
            (validationMetadata, failures) = Validate(run, validation);
        }
        if (epochDone)
        {
            Observer.OnEpoch(new EpochReport(finished, s.Epochs, trainer.StepsDone, loss));
        }
        if (epochDone && s.EpochCheckpoints)
        {
            Save(trainer, Path.Combine(s.Output, $"epoch_{finished}.safetensors"), finished, validationMetadata);
            Observer.OnLog($"train: epoch {finished}/{s.Epochs} done, loss {loss.Total:F4} ({loss.FirstName} {loss.First:F4}, {loss.SecondName} {loss.Second:F4})");
        }
        if (epochDone || trainer.StepsDone % s.CheckpointEvery == 0 || trainer.StepsDone == run.TotalSteps)
        {
            Save(trainer, last, finished, null);
        }
        if (epochDone && trainer.StepsDone < run.TotalSteps)
        {
            WriteReport(run, running: true); // the last epoch's is the final write, after the loop
        }
        return failures;
    }

    /// <summary>training.html from the log as it is now (unless <see cref="TrainerOptions.Report"/> is off).</summary>
    private void WriteReport(Schedule run, bool running)
    {
        var s = run.Options;
        if (!s.Report)
        {
            return;
        }
        var inv = CultureInfo.InvariantCulture;
        var settings = new List<KeyValuePair<string, string>>
        {
            new("method", run.Trainer.Method),
            new("data", s.Data),
            new("validation data", s.ValidationData ?? "none"),
            new("clip", Path.GetFileName(s.Clip)),
            new("initial heads", s.Init is null ? "the authors' random initialisation" : Path.GetFileName(s.Init)),
            new("image size", s.ImageSize.ToString(inv)),
            new("device", Backend.Name),
            new("epochs", s.Epochs.ToString(inv)),
            new("batch size", s.BatchSize.ToString(inv)),
            new("learning rate", s.LearningRate.ToString("R", inv)),
            new("temperature learning rate", s.TemperatureLearningRate.ToString("R", inv)),
            new("augmentation", s.Augment ? "on" : "off"),
            new("seed", s.Seed.ToString(inv)),
        };
        settings.AddRange(ReportSettings.Common());
        var path = TrainingReport.Write(s.Output, settings, new TrainingProgress(run.Trainer.StepsDone, run.TotalSteps, run.StepsPerEpoch, running));
        if (!running)
        {
            Observer.OnLog($"train: report in {path}");
        }
    }

    /// <summary>
    /// Refuses a used output folder unless the run resumes (with the settings it started with, bar a larger epoch or
    /// step count) or overwrites (an earlier run's files are deleted first); then records this run's settings.
    /// </summary>
    private static void PrepareOutput(TrainerOptions s, SortedDictionary<string, string> settings)
    {
        var dir = s.Output;
        if (File.Exists(dir))
        {
            throw new RunSetupException(nameof(TrainerOptions.Output), $"{dir} is a file, not a folder");
        }
        if (s.Resume && s.Overwrite)
        {
            throw new RunSetupException(nameof(TrainerOptions.Overwrite), "resuming and overwriting exclude each other");
        }
        var used = Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any(e => Path.GetFileName(e) != "feature-cache");
        if (s.Resume)
        {
            var changes = TrainingSettingsFile.Changes(dir, settings);
            if (changes.Count > 0)
            {
                throw new RunSetupException(nameof(TrainerOptions.Resume),
                    $"{dir} holds a run started with other settings ({string.Join(", ", changes)}); resume with its settings (a larger --epochs or --steps is fine), or start again with --overwrite");
            }
        }
        else if (used)
        {
            if (!s.Overwrite)
            {
                throw new RunSetupException(nameof(TrainerOptions.Output), $"{dir} is not empty: resume the run that wrote it, or overwrite it");
            }
            foreach (var file in Directory.EnumerateFiles(dir).Where(IsRunFile))
            {
                File.Delete(file);
            }
        }
        Directory.CreateDirectory(dir);
        TrainingSettingsFile.Write(dir, settings);
    }

    /// <summary>The files a training run writes into its output folder (and their temporary names).</summary>
    private static bool IsRunFile(string path)
    {
        var name = Path.GetFileName(path);
        if (name.EndsWith(IO.AtomicFile.TempSuffix, StringComparison.Ordinal))
        {
            name = name[..^IO.AtomicFile.TempSuffix.Length];
        }
        return name is "last.safetensors" or "train_log.jsonl" or TrainingSettingsFile.FileName or TrainingReport.FileName
            || (name.StartsWith("epoch_", StringComparison.Ordinal) && name.EndsWith(".safetensors", StringComparison.Ordinal));
    }

    private void StartOrResume(IHeadTrainer trainer, TrainerOptions s, string last, string logPath)
    {
        if (!s.Resume)
        {
            File.Delete(logPath);
            return;
        }
        if (!File.Exists(last))
        {
            throw new RunSetupException(nameof(TrainerOptions.Resume), $"{last} does not exist (nothing to resume)");
        }
        trainer.RestoreCheckpoint(last);
        TrainingLog.Trim(logPath, trainer.StepsDone);
        Observer.OnLog($"train: resumed at step {trainer.StepsDone} from {last}");
    }

    private static IReadOnlyList<DatasetSample>? ReadValidation(TrainerOptions s)
    {
        if (s.ValidationData is null)
        {
            return null;
        }
        IReadOnlyList<DatasetSample> validation;
        try
        {
            validation = DatasetReader.Read(s.ValidationData, s.ValidationLayout, DatasetSplit.Test, DatasetReader.ParseClassList(s.ValidationClasses));
        }
        catch (DatasetException e)
        {
            throw new RunSetupException(nameof(TrainerOptions.ValidationData), e.Message, e);
        }
        return validation.Count == 0 ? throw new DatasetException($"{s.ValidationData}: no images to validate on") : validation;
    }

    /// <summary>One optimizer step: batch, gradients (dumped at step 1 when asked), update, log line, progress.</summary>
    private TrainingLoss Step(Schedule run, TrainingData data, TrainingBatchLoader loader, int epoch, int batchIndex)
    {
        var (trainer, s) = (run.Trainer, run.Options);
        var members = data.Order(epoch, s.Shuffle).Skip(batchIndex * s.BatchSize).Take(s.BatchSize).ToArray();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var scope = new TensorScope();
        var batch = loader.Load(members, epoch);
        if (batch.Count == 0)
        {
            throw new InvalidOperationException($"epoch {epoch + 1}, step {trainer.StepsDone + 1}: no image of the batch could be read");
        }
        var loss = trainer.ComputeGradients(batch.Features, batch.Masks, batch.Labels);
        if (s.DumpGrads is not null && trainer.StepsDone == 0)
        {
            GradientDump.Write(s.DumpGrads, trainer, loss);
        }
        trainer.ApplyStep();
        batch.Features.Dispose();
        var imagesPerSecond = batch.Count / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        run.Log.Step(trainer.StepsDone, epoch + 1, loss, s.LearningRate, imagesPerSecond);
        var (done, total) = run.Progress;
        Observer.OnProgress("train", done, total, $"step {trainer.StepsDone}/{run.TotalSteps}, loss {loss.Total:F4}, {imagesPerSecond:F2} img/s");
        return loss;
    }

    /// <summary>
    /// Evaluates the heads after an epoch: one log line, one printed line, and the same numbers for the epoch
    /// checkpoint's metadata. Progress shows in the training stage's status (one live display at a time).
    /// </summary>
    private (Dictionary<string, string> Metadata, int Failures) Validate(Schedule run, IReadOnlyList<DatasetSample> samples)
    {
        var (trainer, s) = (run.Trainer, run.Options);
        var validated = 0;
        var (done, total) = run.Progress;
        var summary = TrainingValidation.Run(trainer, Backend, samples, s.BatchSize,
            (path, e) => Observer.OnInputFailed(new InputFailure(path, e), validation: true),
            count =>
            {
                validated += count;
                Observer.OnProgress("train", done, total, $"step {trainer.StepsDone}, validating {validated}/{samples.Count}");
            });
        run.Log.Validation(trainer.StepsDone, summary);
        Observer.OnLog($"train: validation after step {trainer.StepsDone}: pixel AP {Percent(summary.PixelAp)}, pixel AUROC {Percent(summary.PixelAuroc)} " +
            $"(class means over {summary.Classes} {(summary.Classes == 1 ? "class" : "classes")}, {summary.Images} images)");
        var metadata = new Dictionary<string, string>
        {
            ["val.ap_px"] = summary.PixelAp.ToString("R", CultureInfo.InvariantCulture),
            ["val.auroc_px"] = summary.PixelAuroc.ToString("R", CultureInfo.InvariantCulture),
            ["val.data"] = s.ValidationData ?? "",
        };
        return (metadata, summary.Failures);
    }

    private void Save(IHeadTrainer trainer, string path, int epoch, IReadOnlyDictionary<string, string>? metadata)
    {
        trainer.SaveCheckpoint(path, epoch, metadata);
        Observer.OnCheckpoint(path);
    }

    private static string Percent(double value) => double.IsNaN(value) ? "n/a (no class with both labels)" : $"{100 * value:F2}";
}
