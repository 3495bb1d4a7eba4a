// `vcp-native train`: train the VCP-CLIP heads on the test split of an auxiliary dataset, resumably.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Training;
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Models.Vcp;
using VcpNative.Tensors;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Cli.Commands;

/// <summary>Everything `train` needs; also used by `demo`.</summary>
public sealed record TrainSettings
{
    public required string Clip { get; init; }
    public required string Data { get; init; }
    public DatasetLayout Layout { get; init; } = DatasetLayout.Auto;
    public string? Classes { get; init; }
    public string? Init { get; init; }
    public int ImageSize { get; init; } = 518;
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 4e-5;
    public double TemperatureLearningRate { get; init; } = 0.01;
    public ulong Seed { get; init; } = 333;
    public bool Augment { get; init; } = true;
    /// <summary>Augmentations switched off individually (rotate, rot90, brightness-contrast, noise, blur-jitter, mosaic).</summary>
    public IReadOnlyCollection<string> AugmentSkip { get; init; } = [];
    public bool Shuffle { get; init; } = true;
    public float Dropout { get; init; } = 0.1f;
    public long? Steps { get; init; }
    public string? DumpGrads { get; init; }
    public bool Resume { get; init; }
    public int CheckpointEvery { get; init; } = 10;
    /// <summary>Write epoch_k.safetensors at the end of each epoch (the demo turns this off).</summary>
    public bool EpochCheckpoints { get; init; } = true;
    public string? FeatureCache { get; init; }
    public required string Output { get; init; }
    /// <summary>vcp or vip2; null = from --init's metadata or key names, else vcp.</summary>
    public string? Method { get; init; }
    /// <summary>Optional dataset evaluated (test split) after each epoch; null = no validation.</summary>
    public string? ValidationData { get; init; }
    public DatasetLayout ValidationLayout { get; init; } = DatasetLayout.Auto;
    public string? ValidationClasses { get; init; }
}

public static class TrainCommand
{
    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights (clip.safetensors or OpenAI's .pt)", Required = true };
        var data = new Option<string>("--data") { Description = "Dataset root (its test split is the training set, as the authors do)", Required = true };
        var dataset = DatasetOptions.Dataset();
        var classes = DatasetOptions.Classes();
        var init = new Option<string?>("--init") { Description = "Initial heads (ours or the authors' .pth); default: the authors' random initialisation" };
        var size = new Option<int>("--image-size") { DefaultValueFactory = _ => 518, Description = "Square input size" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 10, Description = "Epochs" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32, Description = "Images per step" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 4e-5, Description = "Learning rate of heads and prompts (authors: 4e-5 on VisA, 2e-5 on MVTec)" };
        var tempLr = new Option<double>("--temp-lr") { DefaultValueFactory = _ => 0.01, Description = "Learning rate of the two temperatures" };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 333UL, Description = "Seed of data order, augmentation, dropout and initialisation" };
        var augment = OnOff("--augment", true, "The authors' augmentation (rotation, rot90, brightness/contrast, noise, blur/colour jitter; MVTec mosaic)");
        var augmentSkip = new Option<string?>("--augment-skip") { Description = "Comma-separated augmentations to leave out: " + string.Join(',', AugmentationNames) };
        var shuffle = OnOff("--shuffle", true, "Shuffle each epoch (off: class, defect folder, file name order)");
        var dropout = new Option<float>("--dropout") { DefaultValueFactory = _ => 0.1f, Description = "Dropout on the projected prompt tokens" };
        var steps = new Option<long?>("--steps") { Description = "Stop after this many optimizer steps in total" };
        var dumpGrads = new Option<string?>("--dump-grads") { Description = "Write the first step's gradients (head key names) and loss to this safetensors file" };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUTDIR/last.safetensors" };
        var every = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 10, Description = "Also write last.safetensors every N steps (always at epoch end)" };
        var cache = new Option<string?>("--feature-cache") { Description = "Folder for cached frozen image features (default OUTDIR/feature-cache; used when augmentation is off)" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder", Required = true };
        var method = MethodOptions.Method();
        var valData = new Option<string?>("--val-data") { Description = "Validate on this dataset's test split after each epoch (pixel AP, as the authors log)" };
        var valDataset = new Option<string?>("--val-dataset") { Description = "Layout of --val-data: " + string.Join('|', DatasetOptions.Names) + " (default: as --dataset)" }
            .AcceptOnlyFromAmong(DatasetOptions.Names);
        var valClasses = new Option<string?>("--val-classes") { Description = "Comma-separated classes of --val-data (default: all)" };
        var command = new Command("train", "Train VCP-CLIP (or, with --method vip2, ViP2-CLIP) heads on the test split of a dataset")
        {
            clip, data, dataset, classes, init, size, epochs, batch, lr, tempLr, seed, augment, augmentSkip, shuffle, dropout, steps, dumpGrads, resume, every, cache, output, method,
            valData, valDataset, valClasses,
        };
        command.SetAction(parse => Run(new TrainSettings
        {
            Clip = parse.GetValue(clip)!,
            Data = parse.GetValue(data)!,
            Layout = DatasetOptions.Layout(parse.GetValue(dataset)!),
            Classes = parse.GetValue(classes),
            Init = parse.GetValue(init),
            ImageSize = parse.GetValue(size),
            Epochs = parse.GetValue(epochs),
            BatchSize = Math.Max(1, parse.GetValue(batch)),
            LearningRate = parse.GetValue(lr),
            TemperatureLearningRate = parse.GetValue(tempLr),
            Seed = parse.GetValue(seed),
            Augment = parse.GetValue(augment) == "on",
            AugmentSkip = ParseAugmentSkip(parse.GetValue(augmentSkip)),
            Shuffle = parse.GetValue(shuffle) == "on",
            Dropout = parse.GetValue(dropout),
            Steps = parse.GetValue(steps),
            DumpGrads = parse.GetValue(dumpGrads),
            Resume = parse.GetValue(resume),
            CheckpointEvery = Math.Max(1, parse.GetValue(every)),
            FeatureCache = parse.GetValue(cache),
            Output = parse.GetValue(output)!,
            Method = parse.GetValue(method),
            ValidationData = parse.GetValue(valData),
            ValidationLayout = DatasetOptions.Layout(parse.GetValue(valDataset) ?? parse.GetValue(dataset)!),
            ValidationClasses = parse.GetValue(valClasses),
        }, GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static readonly string[] AugmentationNames = ["rotate", "rot90", "brightness-contrast", "noise", "blur-jitter", "mosaic"];

    private static string[] ParseAugmentSkip(string? list)
    {
        var names = (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var n in names)
        {
            if (!AugmentationNames.Contains(n))
            {
                throw new ArgumentException($"--augment-skip: unknown augmentation '{n}' (known: {string.Join(", ", AugmentationNames)})");
            }
        }
        return names;
    }

    /// <summary>The augmentations that run: all of the authors' unless --augment off or skipped by name.</summary>
    public static AugmentationOptions Augmentations(TrainSettings s) => !s.Augment ? AugmentationOptions.None : new AugmentationOptions
    {
        Rotate = !s.AugmentSkip.Contains("rotate"),
        Rotate90 = !s.AugmentSkip.Contains("rot90"),
        BrightnessContrast = !s.AugmentSkip.Contains("brightness-contrast"),
        GaussNoise = !s.AugmentSkip.Contains("noise"),
        BlurOrColourJitter = !s.AugmentSkip.Contains("blur-jitter"),
    };

    private static Option<string> OnOff(string name, bool on, string description) =>
        new Option<string>(name) { DefaultValueFactory = _ => on ? "on" : "off", Description = description }.AcceptOnlyFromAmong("on", "off");

    public static VcpModel WithHeads(ClipModel clip, string? init, int seed, IBackend backend) =>
        clip.BuildOrDispose(c => new VcpModel(c, new VcpHeads(
            init is not null
                ? ParameterSet.Load(init, backend)
                : RandomWeights.VcpHeads(new ModelArchitecture("train", c.Config, 2, 1, 4), seed, backend),
            c.Config)));

    public static int Run(TrainSettings s, IBackend backend, TextWriter output, TextWriter error)
    {
        var samples = DatasetReader.Read(s.Data, s.Layout, DatasetSplit.Test, DatasetReader.ParseClassList(s.Classes));
        if (samples.Count == 0)
        {
            throw new DatasetException($"{s.Data}: no images to train on");
        }
        var method = s.Method ?? (s.Init is null ? "vcp" : AnomalyModelLoader.DetectMethod(s.Init));
        TrainOutcome outcome;
        if (method == "vip2")
        {
            // ViP2's prompt buffers (token embeddings of its fixed prompts) come from the authors' checkpoint.
            var init = s.Init ?? throw new ArgumentException("--method vip2 needs --init (the authors' ViP2-CLIP .pth or a vip2 head file): its prompt buffers are stored there");
            using var model = Vip2Model.Load(s.Clip, init, backend);
            var trainer = new Vip2Trainer(model, new Vip2TrainingOptions { ImageSize = s.ImageSize, Seed = s.Seed });
            outcome = Train(trainer, samples, s, backend, output, error);
        }
        else
        {
            var clip = ClipModel.Load(s.Clip, ClipActivation.Gelu, PositionResizeMode.BicubicAntialias, backend);
            using var model = WithHeads(clip, s.Init, (int)(s.Seed & 0x7FFFFFFF), backend);
            outcome = Train(VcpTrainerFor(model, s), samples, s, backend, output, error);
        }
        return outcome.Failures > 0 ? ExitCodes.PartialFailure : ExitCodes.Ok;
    }

    public static VcpTrainer VcpTrainerFor(VcpModel model, TrainSettings s) => new(model, new VcpTrainingOptions
    {
        ImageSize = s.ImageSize,
        LearningRate = s.LearningRate,
        TemperatureLearningRate = s.TemperatureLearningRate,
        Dropout = s.Dropout,
        Seed = s.Seed,
    });

    public sealed record TrainOutcome(long Steps, float LastLoss, int Failures);

    /// <summary>The training loop on an already loaded model (used by `train` and `demo`).</summary>
    public static TrainOutcome Train(IHeadTrainer trainer, IReadOnlyList<DatasetSample> samples, TrainSettings s, IBackend backend, TextWriter output, TextWriter error)
    {
        Directory.CreateDirectory(s.Output);
        // The authors' 2x2 mosaic applies to MVTec only.
        var mosaic = s.Augment && s.Layout == DatasetLayout.MvtecAd && !s.AugmentSkip.Contains("mosaic");
        var data = new TrainingData(samples, s.ImageSize, Augmentations(s), mosaic, s.Seed);
        FeatureCache? cache = null;
        if (data.IsDeterministic)
        {
            cache = new FeatureCache(s.FeatureCache ?? Path.Combine(s.Output, "feature-cache"), trainer.Method + ":" + FeatureCache.Fingerprint(s.Clip), s.ImageSize);
        }
        var last = Path.Combine(s.Output, "last.safetensors");
        var logPath = Path.Combine(s.Output, "train_log.jsonl");
        if (s.Resume)
        {
            if (!File.Exists(last))
            {
                throw new FileNotFoundException($"--resume: {last} does not exist (nothing to resume)");
            }
            trainer.RestoreCheckpoint(last);
            TrimLog(logPath, trainer.StepsDone);
            output.WriteLine($"train: resumed at step {trainer.StepsDone} from {last}");
        }
        else if (File.Exists(logPath))
        {
            File.Delete(logPath);
        }
        // Read before the first step, so a bad --val-data fails at once rather than after an epoch of training.
        IReadOnlyList<DatasetSample>? validation = null;
        if (s.ValidationData is not null)
        {
            try
            {
                validation = DatasetReader.Read(s.ValidationData, s.ValidationLayout, DatasetSplit.Test, DatasetReader.ParseClassList(s.ValidationClasses));
            }
            catch (DatasetException e)
            {
                throw new DatasetException($"--val-data: {e.Message}");
            }
            if (validation.Count == 0)
            {
                throw new DatasetException($"{s.ValidationData}: no images to validate on");
            }
        }
        var stepsPerEpoch = (data.Count + s.BatchSize - 1) / s.BatchSize;
        var totalSteps = (long)stepsPerEpoch * s.Epochs;
        if (s.Steps is long cap)
        {
            totalSteps = Math.Min(totalSteps, cap);
        }
        var failures = 0;
        var lastLoss = float.NaN;
        using var log = new StreamWriter(logPath, append: true);
        using (var progress = new ProgressReporter("train", (int)Math.Max(0, totalSteps - trainer.StepsDone), error))
        {
            while (trainer.StepsDone < totalSteps)
            {
                var epoch = (int)(trainer.StepsDone / stepsPerEpoch);
                var batchIndex = (int)(trainer.StepsDone % stepsPerEpoch);
                var order = data.Order(epoch, s.Shuffle);
                var members = order.Skip(batchIndex * s.BatchSize).Take(s.BatchSize).ToArray();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                using var scope = new TensorScope();
                var (features, masks, labels, count) = LoadBatch(trainer, data, members, epoch, cache, backend, error, ref failures);
                if (count == 0)
                {
                    throw new InvalidOperationException($"epoch {epoch + 1}, step {trainer.StepsDone + 1}: no image of the batch could be read");
                }
                var loss = trainer.ComputeGradients(features, masks, labels);
                if (s.DumpGrads is not null && trainer.StepsDone == 0)
                {
                    DumpGradients(s.DumpGrads, trainer, loss);
                }
                trainer.ApplyStep();
                features.Dispose();
                lastLoss = loss.Total;
                var seconds = clock.Elapsed.TotalSeconds;
                var line = new System.Text.Json.Nodes.JsonObject
                {
                    ["step"] = trainer.StepsDone,
                    ["epoch"] = epoch + 1,
                    ["loss"] = loss.Total,
                    [loss.FirstName] = loss.First,
                    [loss.SecondName] = loss.Second,
                    ["lr"] = s.LearningRate,
                    ["images_per_s"] = count / Math.Max(1e-9, seconds),
                };
                log.WriteLine(line.ToJsonString());
                log.Flush();
                progress.Advance(1, $"step {trainer.StepsDone}/{totalSteps}, loss {loss.Total:F4}, {count / Math.Max(1e-9, seconds):F2} img/s");
                var epochDone = trainer.StepsDone % stepsPerEpoch == 0;
                Dictionary<string, string>? validationMetadata = null;
                if (epochDone && validation is not null)
                {
                    validationMetadata = Validate(trainer, validation, s, backend, log, progress, output, error, ref failures);
                }
                if (epochDone && s.EpochCheckpoints)
                {
                    var finished = (int)(trainer.StepsDone / stepsPerEpoch);
                    trainer.SaveCheckpoint(Path.Combine(s.Output, $"epoch_{finished}.safetensors"), finished, validationMetadata);
                    output.WriteLine($"train: epoch {finished}/{s.Epochs} done, loss {loss.Total:F4} ({loss.FirstName} {loss.First:F4}, {loss.SecondName} {loss.Second:F4})");
                }
                if (epochDone || trainer.StepsDone % s.CheckpointEvery == 0 || trainer.StepsDone == totalSteps)
                {
                    trainer.SaveCheckpoint(last, (int)(trainer.StepsDone / stepsPerEpoch));
                }
            }
        }
        if (cache is not null)
        {
            output.WriteLine($"train: feature cache {cache.Hits} hits, {cache.Misses} misses");
        }
        output.WriteLine($"train: {trainer.StepsDone} steps; heads in {last}; log in {logPath}");
        return new TrainOutcome(trainer.StepsDone, lastLoss, failures);
    }

    /// <summary>
    /// Evaluates the heads after an epoch: one log line (step, epoch, val_ap_px, val_auroc_px, val_classes, val_images),
    /// one printed line, and the same numbers for the epoch checkpoint's metadata.
    /// </summary>
    private static Dictionary<string, string> Validate(IHeadTrainer trainer, IReadOnlyList<DatasetSample> samples, TrainSettings s, IBackend backend,
        StreamWriter log, ProgressReporter progress, TextWriter output, TextWriter error, ref int failures)
    {
        // Shown in the training bar's status: a second live display beside it is not possible.
        var validated = 0;
        var summary = TrainingValidation.Run(trainer, backend, samples, s.BatchSize,
            (path, e) => error.WriteLine($"vcp-native: validation skipped {path}: {CliApp.OneLine(e)}"),
            done =>
            {
                validated += done;
                progress.Advance(0, $"step {trainer.StepsDone}, validating {validated}/{samples.Count}");
            });
        failures += summary.Failures;
        var line = new System.Text.Json.Nodes.JsonObject
        {
            ["step"] = trainer.StepsDone,
            ["val_ap_px"] = JsonNumber(summary.PixelAp),
            ["val_auroc_px"] = JsonNumber(summary.PixelAuroc),
            ["val_classes"] = summary.Classes,
            ["val_images"] = summary.Images,
        };
        log.WriteLine(line.ToJsonString());
        log.Flush();
        output.WriteLine($"train: validation after step {trainer.StepsDone}: pixel AP {Percent(summary.PixelAp)}, pixel AUROC {Percent(summary.PixelAuroc)} " +
            $"(class means over {summary.Classes} {(summary.Classes == 1 ? "class" : "classes")}, {summary.Images} images)");
        return new Dictionary<string, string>
        {
            ["val.ap_px"] = summary.PixelAp.ToString("R", CultureInfo.InvariantCulture),
            ["val.auroc_px"] = summary.PixelAuroc.ToString("R", CultureInfo.InvariantCulture),
            ["val.data"] = s.ValidationData ?? "",
        };
    }

    /// <summary>NaN (no class with the metric defined) is written as null: JSON has no NaN.</summary>
    private static System.Text.Json.Nodes.JsonNode? JsonNumber(double value) => double.IsNaN(value) ? null : System.Text.Json.Nodes.JsonValue.Create(value);

    private static string Percent(double value) => double.IsNaN(value) ? "n/a (no class with both labels)" : $"{100 * value:F2}";

    private static (VcpImageFeatures Features, Tensor Masks, int[] Labels, int Count) LoadBatch(
        IHeadTrainer trainer, TrainingData data, int[] members, int epoch, FeatureCache? cache, IBackend backend, TextWriter error, ref int failures)
    {
        var size = trainer.ImageSize;
        var parts = new List<VcpImageFeatures>();
        var maskData = new List<float>();
        var labels = new List<int>();
        foreach (var index in members)
        {
            TrainingExample example;
            try
            {
                example = data.Load(index, epoch);
            }
            catch (Exception e) when (e is IO.Images.ImageDecodeException or IOException or InvalidDataException)
            {
                failures++;
                error.WriteLine($"vcp-native: skipped {data.Sample(index).ImagePath}: {CliApp.OneLine(e)}");
                continue;
            }
            VcpImageFeatures? features = null;
            string? key = null;
            if (cache is not null)
            {
                key = cache.Key(example.SourceBytes);
                features = cache.TryLoad(key);
            }
            if (features is null)
            {
                using var image = Tensor.FromArray(example.Image, [1, 3, size, size], backend);
                features = trainer.ComputeFeatures(image);
                if (cache is not null)
                {
                    // Train on the fp16-rounded features from the first epoch on, so every epoch sees the same values.
                    cache.Save(key!, features);
                    features.Dispose();
                    features = cache.TryLoad(key!)!;
                }
            }
            parts.Add(features);
            maskData.AddRange(example.Mask);
            labels.Add(example.IsAnomalous ? 1 : 0);
        }
        if (parts.Count == 0)
        {
            return (null!, null!, [], 0);
        }
        var stacked = parts.Count == 1 ? parts[0] : VcpImageFeatures.Stack(parts);
        if (parts.Count > 1)
        {
            foreach (var p in parts)
            {
                p.Dispose();
            }
        }
        var masks = Tensor.FromArray(maskData.ToArray(), [parts.Count, size, size], backend);
        return (stacked, masks, [.. labels], parts.Count);
    }

    private static void DumpGradients(string path, IHeadTrainer trainer, TrainingLoss loss)
    {
        var entries = new List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>();
        foreach (var (name, grad) in trainer.Gradients())
        {
            var values = grad.ToArray();
            var bytes = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            entries.Add((name, WeightDType.F32, Array.ConvertAll(grad.Shape.ToArray(), d => (long)d), bytes));
        }
        var meta = new Dictionary<string, string>
        {
            ["loss"] = loss.Total.ToString("R", CultureInfo.InvariantCulture),
            [loss.FirstName] = loss.First.ToString("R", CultureInfo.InvariantCulture),
            [loss.SecondName] = loss.Second.ToString("R", CultureInfo.InvariantCulture),
            ["method"] = trainer.Method,
            ["format"] = "vcp-native/gradients",
        };
        SafetensorsWriter.Write(path, entries, meta);
    }

    /// <summary>After a resume, drops log lines of steps the checkpoint does not contain (they will be redone).</summary>
    private static void TrimLog(string path, long steps)
    {
        if (!File.Exists(path))
        {
            return;
        }
        var kept = File.ReadAllLines(path).Where(line =>
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.GetProperty("step").GetInt64() <= steps;
        }).ToList();
        IO.Results.ResultsWriter.WriteAtomically(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
    }
}
