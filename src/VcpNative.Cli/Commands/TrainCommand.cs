// `vcp-native train`: train the VCP-CLIP heads on the test split of an auxiliary dataset, resumably.
using System.CommandLine;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

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
        var augmentSkip = new Option<string?>("--augment-skip") { Description = "Comma-separated augmentations to leave out: " + string.Join(',', TrainerOptions.AugmentationNames) };
        var shuffle = OnOff("--shuffle", true, "Shuffle each epoch (off: class, defect folder, file name order)");
        var dropout = new Option<float>("--dropout") { DefaultValueFactory = _ => 0.1f, Description = "Dropout on the projected prompt tokens" };
        var steps = new Option<long?>("--steps") { Description = "Stop after this many optimizer steps in total" };
        var dumpGrads = new Option<string?>("--dump-grads") { Description = "Write the first step's gradients (head key names) and loss to this safetensors file" };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUTDIR/last.safetensors (the run's settings must be the same, bar a larger --epochs or --steps)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Delete an earlier run's checkpoints, log and settings in OUTDIR and start again (the feature cache stays)" };
        var every = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 10, Description = "Also write last.safetensors every N steps (always at epoch end)" };
        var cache = new Option<string?>("--feature-cache") { Description = "Folder for cached frozen image features (default OUTDIR/feature-cache; used when augmentation is off)" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder", Required = true };
        var method = MethodOptions.Method();
        var valData = new Option<string?>("--val-data") { Description = "Validate on this dataset's test split after each epoch (pixel AP, as the authors log)" };
        var valDataset = new Option<string?>("--val-dataset") { Description = "Layout of --val-data: " + string.Join('|', DatasetOptions.Names) + " (default: as --dataset)" }
            .AcceptOnlyFromAmong(DatasetOptions.Names);
        var valClasses = new Option<string?>("--val-classes") { Description = "Comma-separated classes of --val-data (default: all)" };
        var noReport = new Option<bool>("--no-report") { Description = "Do not write training.html (loss curves, learning rate, validation; rewritten after each epoch)" };
        var command = new Command("train", "Train VCP-CLIP (or, with --method vip2, ViP2-CLIP) heads on the test split of a dataset")
        {
            clip, data, dataset, classes, init, size, epochs, batch, lr, tempLr, seed, augment, augmentSkip, shuffle, dropout, steps, dumpGrads, resume, overwrite, every, cache, output, method,
            valData, valDataset, valClasses, noReport,
        };
        command.SetAction(parse => Run(new TrainerOptions
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
            Overwrite = parse.GetValue(overwrite),
            CheckpointEvery = Math.Max(1, parse.GetValue(every)),
            FeatureCache = parse.GetValue(cache),
            Output = parse.GetValue(output)!,
            Method = parse.GetValue(method),
            ValidationData = parse.GetValue(valData),
            ValidationLayout = DatasetOptions.Layout(parse.GetValue(valDataset) ?? parse.GetValue(dataset)!),
            ValidationClasses = parse.GetValue(valClasses),
            Report = !parse.GetValue(noReport),
        }, GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    private static string[] ParseAugmentSkip(string? list)
    {
        var names = (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var n in names)
        {
            if (!TrainerOptions.AugmentationNames.Contains(n))
            {
                throw new UsageException($"--augment-skip: unknown augmentation '{n}' (known: {string.Join(", ", TrainerOptions.AugmentationNames)})");
            }
        }
        return names;
    }

    private static Option<string> OnOff(string name, bool on, string description) =>
        new Option<string>(name) { DefaultValueFactory = _ => on ? "on" : "off", Description = description }.AcceptOnlyFromAmong("on", "off");

    /// <summary>Trains as the options say, printing as the verb always has; a refused option names its flag.</summary>
    public static int Run(TrainerOptions options, IBackend backend, TextWriter output, TextWriter error)
    {
        using var observer = new ConsoleRunObserver(output, error);
        try
        {
            var outcome = new Trainer(backend, observer).Run(options);
            return outcome.Failures > 0 ? ExitCodes.PartialFailure : ExitCodes.Ok;
        }
        catch (RunSetupException e) when (Flags.ContainsKey(e.Setting))
        {
            throw new UsageException($"{Flags[e.Setting]}: {e.Message}", e);
        }
    }

    /// <summary>The flag of each <see cref="TrainerOptions"/> property a <see cref="RunSetupException"/> may name.</summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        [nameof(TrainerOptions.Init)] = "--init",
        [nameof(TrainerOptions.Resume)] = "--resume",
        [nameof(TrainerOptions.Overwrite)] = "--overwrite",
        [nameof(TrainerOptions.Output)] = "--output",
        [nameof(TrainerOptions.ValidationData)] = "--val-data",
    };
}
