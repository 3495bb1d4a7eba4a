// Training checkpoints shared by every method's trainer: head tensors, Adam state and metadata in one safetensors file.
using VcpNative.Models;
using VcpNative.Tensors;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Anomaly.Training;

/// <summary>
/// A checkpoint holds every head tensor under its checkpoint name (so it also loads as a head file, buffers included),
/// the Adam moments under <c>optimizer.*</c>, and metadata (format, method, step, random state, ...).
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Value of the "format" metadata key of training checkpoints.</summary>
    public const string Format = "vcp-native-train";

    /// <summary>Prefix of checkpoint tensors that are not head tensors.</summary>
    public const string OptimizerPrefix = "optimizer.";

    /// <summary>Writes atomically (temp file, then rename, inside the writer).</summary>
    public static void Save(string path, ParameterSet heads, AdamOptimizer optimizer, IReadOnlyDictionary<string, string> metadata)
    {
        var tensors = new List<(string Name, float[] Data, int[] Shape)>();
        var names = new List<string>(heads.Names);
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!name.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            {
                var t = heads.Get(name);
                tensors.Add((name, t.ToArray(), t.Shape.ToArray()));
            }
        }
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in metadata)
        {
            meta[kv.Key] = kv.Value;
        }
        optimizer.ExportState(tensors, meta);
        meta["format"] = Format;
        var entries = new List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>(tensors.Count);
        foreach (var (name, data, shape) in tensors)
        {
            var bytes = new byte[data.Length * sizeof(float)];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            entries.Add((name, WeightDType.F32, Array.ConvertAll(shape, d => (long)d), bytes));
        }
        SafetensorsWriter.Write(path, entries, meta);
    }

    /// <summary>Loads every optimised parameter and the Adam state; returns the checkpoint's metadata.</summary>
    public static IReadOnlyDictionary<string, string> Restore(string path, AdamOptimizer optimizer)
    {
        using var weights = WeightLoader.LoadVerbatim(path);
        var meta = weights.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != Format)
        {
            throw new ModelFormatException(path, null, null, $"expected a vcp-native training checkpoint (metadata format={Format}), found {(format is null ? "none" : format)}");
        }
        foreach (var (name, p) in optimizer.AllParameters())
        {
            if (!weights.TryGet(name, out var w))
            {
                throw new ModelFormatException(path, null, name, "missing head parameter in checkpoint");
            }
            if (w.ElementCount != p.Numel)
            {
                throw new ModelFormatException(path, null, name, $"expected {p.Numel} values, found {w.ElementCount}");
            }
            p.Backend.Upload(w.ToFloat32(), p);
            p.ZeroGrad();
        }
        optimizer.ImportState(n => weights.TryGet(n, out var t) ? t.ToFloat32() : null, meta, path);
        return new Dictionary<string, string>(meta, StringComparer.Ordinal);
    }

    /// <summary>The metadata every trainer writes: method, step, epoch, random state, seed, image size, plus extras.</summary>
    public static Dictionary<string, string> TrainerMetadata(string method, long steps, int epoch, TrainingRandom random, ulong seed, int imageSize,
        IReadOnlyDictionary<string, string>? extra)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (extra is not null)
        {
            foreach (var kv in extra)
            {
                metadata[kv.Key] = kv.Value;
            }
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        metadata["method"] = method;
        metadata["train.step"] = steps.ToString(inv);
        metadata["train.epoch"] = epoch.ToString(inv);
        metadata["train.rng"] = random.State;
        metadata["train.seed"] = seed.ToString(inv);
        metadata["train.image_size"] = imageSize.ToString(inv);
        return metadata;
    }

    /// <summary>Restores a trainer's checkpoint: parameters and Adam state, then (steps, random state, epoch).</summary>
    public static (long Steps, TrainingRandom Random, int Epoch) RestoreTrainer(string path, AdamOptimizer optimizer)
    {
        var meta = Restore(path, optimizer);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return (long.Parse(Required(meta, "train.step", path), inv), TrainingRandom.FromState(Required(meta, "train.rng", path)),
            int.Parse(Required(meta, "train.epoch", path), inv));
    }

    /// <summary>The metadata value of <paramref name="key"/>; throws <see cref="ModelFormatException"/> naming <paramref name="path"/> when missing.</summary>
    public static string Required(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new ModelFormatException(path, null, null, $"metadata key '{key}' missing");

    /// <summary>The gradient of every optimised parameter that has one, by checkpoint name.</summary>
    public static IReadOnlyDictionary<string, Tensor> Gradients(AdamOptimizer optimizer)
    {
        var result = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in optimizer.AllParameters())
        {
            if (p.Grad is not null)
            {
                result[name] = p.Grad;
            }
        }
        return result;
    }
}
