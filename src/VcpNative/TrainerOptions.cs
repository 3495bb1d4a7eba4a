// Everything a training run needs: data, model files, schedule, augmentation, checkpoints, validation.
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Training;

namespace VcpNative;

/// <summary>Options of a <see cref="Trainer"/> run; the defaults are the authors' (VCP-CLIP on VisA).</summary>
public sealed record TrainerOptions
{
    /// <summary>Names of the augmentations that <see cref="AugmentSkip"/> may leave out.</summary>
    public static readonly IReadOnlyList<string> AugmentationNames = ["rotate", "rot90", "brightness-contrast", "noise", "blur-jitter", "mosaic"];

    /// <summary>CLIP weights (our safetensors or OpenAI's .pt).</summary>
    public required string Clip { get; init; }

    /// <summary>Dataset root; its test split is the training set, as the authors do.</summary>
    public required string Data { get; init; }

    /// <summary>Layout of <see cref="Data"/>.</summary>
    public DatasetLayout Layout { get; init; } = DatasetLayout.Auto;

    /// <summary>Comma-separated classes of <see cref="Data"/> to train on; null = all.</summary>
    public string? Classes { get; init; }

    /// <summary>Initial heads (ours or the authors' .pth); null = the method's random initialisation.</summary>
    public string? Init { get; init; }

    /// <summary>Square input size in pixels.</summary>
    public int ImageSize { get; init; } = 518;

    /// <summary>Epochs to train.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Images per optimizer step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Learning rate of heads and prompts.</summary>
    public double LearningRate { get; init; } = 4e-5;

    /// <summary>Learning rate of the two temperatures.</summary>
    public double TemperatureLearningRate { get; init; } = 0.01;

    /// <summary>Seed of data order, augmentation, dropout and initialisation.</summary>
    public ulong Seed { get; init; } = 333;

    /// <summary>Whether to apply the authors' augmentation.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Augmentations switched off individually (names from <see cref="AugmentationNames"/>).</summary>
    public IReadOnlyCollection<string> AugmentSkip { get; init; } = [];

    /// <summary>Shuffle each epoch (off: class, defect folder, file name order).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Dropout on the projected prompt tokens.</summary>
    public float Dropout { get; init; } = 0.1f;

    /// <summary>Stop after this many optimizer steps in total; null = after <see cref="Epochs"/>.</summary>
    public long? Steps { get; init; }

    /// <summary>Write the first step's gradients and loss to this safetensors file; null = don't.</summary>
    public string? DumpGrads { get; init; }

    /// <summary>Continue from <see cref="Output"/>/last.safetensors.</summary>
    public bool Resume { get; init; }

    /// <summary>
    /// Start again in a used <see cref="Output"/>: deletes an earlier run's checkpoints, log and settings first (the
    /// feature cache stays: its entries are keyed by CLIP, image size and image). Without it (or <see cref="Resume"/>)
    /// a used output folder is refused.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>Also write last.safetensors every this many steps (always at epoch end).</summary>
    public int CheckpointEvery { get; init; } = 10;

    /// <summary>Write epoch_k.safetensors at the end of each epoch (the demo turns this off).</summary>
    public bool EpochCheckpoints { get; init; } = true;

    /// <summary>Folder for cached frozen image features; null = <see cref="Output"/>/feature-cache. Used when the data are deterministic.</summary>
    public string? FeatureCache { get; init; }

    /// <summary>Output folder (checkpoints, train_log.jsonl).</summary>
    public required string Output { get; init; }

    /// <summary>Method name (see <see cref="Anomaly.Methods.AnomalyMethods"/>); null = from <see cref="Init"/>'s metadata or key names, else vcp.</summary>
    public string? Method { get; init; }

    /// <summary>Dataset whose test split is evaluated after each epoch; null = no validation.</summary>
    public string? ValidationData { get; init; }

    /// <summary>Layout of <see cref="ValidationData"/>.</summary>
    public DatasetLayout ValidationLayout { get; init; } = DatasetLayout.Auto;

    /// <summary>Comma-separated classes of <see cref="ValidationData"/>; null = all.</summary>
    public string? ValidationClasses { get; init; }

    /// <summary>
    /// Write training.html in <see cref="Output"/> (loss curves, learning rate, validation per epoch), rewritten after
    /// each epoch; false = none (the CLI's <c>--no-report</c>). See docs/reports.md.
    /// </summary>
    public bool Report { get; init; } = true;

    /// <summary>The augmentations that run: all of the authors' unless <see cref="Augment"/> is off or skipped by name.</summary>
    public AugmentationOptions Augmentations() => !Augment ? AugmentationOptions.None : new AugmentationOptions
    {
        Rotate = !AugmentSkip.Contains("rotate"),
        Rotate90 = !AugmentSkip.Contains("rot90"),
        BrightnessContrast = !AugmentSkip.Contains("brightness-contrast"),
        GaussNoise = !AugmentSkip.Contains("noise"),
        BlurOrColourJitter = !AugmentSkip.Contains("blur-jitter"),
    };

    /// <summary>The settings a method's trainer reads (see <see cref="Anomaly.Methods.IAnomalyMethod.CreateTrainer"/>).</summary>
    public Anomaly.Methods.HeadTrainingSettings HeadTraining => new(ImageSize, LearningRate, TemperatureLearningRate, Dropout, Seed);

    /// <summary>The authors' 2x2 mosaic: MVTec only, when augmenting and not skipped.</summary>
    public bool Mosaic => Augment && Layout == DatasetLayout.MvtecAd && !AugmentSkip.Contains("mosaic");
}
