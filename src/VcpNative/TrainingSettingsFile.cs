// train_settings.json: the hyperparameters a training run started with, so `--resume` can refuse changed ones.
using System.Globalization;
using System.Text.Json;
using VcpNative.Anomaly.Training;
using VcpNative.IO;

namespace VcpNative;

/// <summary>
/// The settings that decide what a training run computes, by the CLI flag that sets each, written when a run starts and
/// compared when it is resumed: a resumed run must be the run it continues, so every difference is refused except a
/// larger epoch or step count. Paths of weights are compared by content fingerprint, so moved files still match.
/// </summary>
internal static class TrainingSettingsFile
{
    /// <summary>File name inside the training output folder.</summary>
    public const string FileName = "train_settings.json";

    /// <summary>The settings of <paramref name="options"/> for <paramref name="method"/>, by flag, as compared on resume.</summary>
    /// <param name="options">The run's options.</param>
    /// <param name="method">The method that trains.</param>
    public static SortedDictionary<string, string> Of(TrainerOptions options, string method)
    {
        var inv = CultureInfo.InvariantCulture;
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["--method"] = method,
            ["--clip"] = "fingerprint " + FeatureCache.Fingerprint(options.Clip),
            ["--init"] = options.Init is null ? "none" : "fingerprint " + FeatureCache.Fingerprint(options.Init),
            ["--data"] = Path.GetFullPath(options.Data),
            ["--dataset"] = options.Layout.ToString(),
            ["--classes"] = options.Classes ?? "all",
            ["--image-size"] = options.ImageSize.ToString(inv),
            ["--batch-size"] = options.BatchSize.ToString(inv),
            ["--lr"] = options.LearningRate.ToString("R", inv),
            ["--temp-lr"] = options.TemperatureLearningRate.ToString("R", inv),
            ["--seed"] = options.Seed.ToString(inv),
            ["--augment"] = options.Augment ? "on" : "off",
            ["--augment-skip"] = string.Join(',', options.AugmentSkip.Order(StringComparer.Ordinal)),
            ["--shuffle"] = options.Shuffle ? "on" : "off",
            ["--dropout"] = options.Dropout.ToString("R", inv),
            ["--epochs"] = options.Epochs.ToString(inv),
            ["--steps"] = options.Steps?.ToString(inv) ?? "none",
        };
    }

    /// <summary>Writes <paramref name="settings"/> into <paramref name="outputDirectory"/> (atomically).</summary>
    /// <param name="outputDirectory">The training output folder.</param>
    /// <param name="settings">From <see cref="Of"/>.</param>
    public static void Write(string outputDirectory, SortedDictionary<string, string> settings) =>
        AtomicFile.Write(Path.Combine(outputDirectory, FileName), JsonSerializer.Serialize(settings, TrainingSettingsJson.Default.SortedDictionaryStringString) + "\n");

    /// <summary>
    /// The differences of <paramref name="settings"/> from those saved in <paramref name="outputDirectory"/> ("--lr 4E-05 -> 2E-05"),
    /// empty when they agree or when no settings were saved (a run from before this file existed). A larger
    /// <c>--epochs</c> or <c>--steps</c> is not a difference.
    /// </summary>
    /// <param name="outputDirectory">The training output folder.</param>
    /// <param name="settings">The resuming run's settings.</param>
    /// <exception cref="InvalidDataException">The saved file is not a settings file.</exception>
    public static List<string> Changes(string outputDirectory, SortedDictionary<string, string> settings)
    {
        var path = Path.Combine(outputDirectory, FileName);
        var changes = new List<string>();
        if (!File.Exists(path))
        {
            return changes;
        }
        SortedDictionary<string, string> saved;
        try
        {
            saved = JsonSerializer.Deserialize(File.ReadAllText(path), TrainingSettingsJson.Default.SortedDictionaryStringString)
                ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a settings file: {e.Message}", e);
        }
        foreach (var (flag, before) in saved)
        {
            var now = settings.GetValueOrDefault(flag, "none");
            if (now != before && !Extends(flag, before, now))
            {
                changes.Add($"{flag} {before} -> {now}");
            }
        }
        return changes;
    }

    /// <summary>A larger epoch or step count ("none" steps = no limit) continues the same run further.</summary>
    private static bool Extends(string flag, string before, string now)
    {
        if (flag is not ("--epochs" or "--steps"))
        {
            return false;
        }
        if (now == "none")
        {
            return true;
        }
        return before != "none" && long.Parse(now, CultureInfo.InvariantCulture) > long.Parse(before, CultureInfo.InvariantCulture);
    }
}

/// <summary>Source-generated JSON of the settings file (no reflection under NativeAOT).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SortedDictionary<string, string>))]
internal sealed partial class TrainingSettingsJson : System.Text.Json.Serialization.JsonSerializerContext;
