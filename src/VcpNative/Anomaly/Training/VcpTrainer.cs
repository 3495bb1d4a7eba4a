// One VCP-CLIP training step as the authors' train.py: frozen image tower, heads with a tape, focal + dice losses, Adam.
using System.Globalization;
using VcpNative.Anomaly.Inference;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Anomaly.Training;

/// <summary>Training hyper-parameters (defaults: the authors' train.sh for VisA as auxiliary data).</summary>
public sealed record VcpTrainingOptions
{
    public int ImageSize { get; init; } = 518;

    public double LearningRate { get; init; } = 4e-5;

    public double TemperatureLearningRate { get; init; } = 0.01;

    /// <summary>Dropout on the projected (deep) prompt tokens while training; 0 makes the step deterministic.</summary>
    public float Dropout { get; init; } = 0.1f;

    public ulong Seed { get; init; } = 333;
}

/// <summary>Loss of one step: total = raw (Pre-VCP branch) + new (Post-VCP branch), each summed over feature layers.</summary>
public readonly record struct VcpStepLoss(float Loss, float LossRaw, float LossNew);

/// <summary>
/// Trains the heads of a <see cref="VcpModel"/> in place. The image tower runs without a tape (its features can be
/// computed once with <see cref="ComputeFeatures"/> and reused); the heads and the frozen text tower run with one,
/// so gradients reach every head parameter through the text tower's inputs only (CLIP weights need no gradient).
/// </summary>
public sealed class VcpTrainer
{
    /// <summary>Prefix of checkpoint tensors that are not head parameters.</summary>
    public const string OptimizerPrefix = "optimizer.";

    public VcpTrainer(VcpModel model, VcpTrainingOptions options)
    {
        if (options.ImageSize % model.Clip.Config.PatchSize != 0)
        {
            throw new ArgumentException($"image size {options.ImageSize} must be a multiple of the CLIP patch size {model.Clip.Config.PatchSize}");
        }
        Model = model;
        Options = options;
        Optimizer = AdamOptimizer.ForVcpHeads(model.Heads.Parameters, options.LearningRate, options.TemperatureLearningRate);
        Random = new TrainingRandom(options.Seed);
    }

    public VcpModel Model { get; }

    public VcpTrainingOptions Options { get; }

    public AdamOptimizer Optimizer { get; }

    /// <summary>Drives prompt dropout (and may drive data order); saved in checkpoints.</summary>
    public TrainingRandom Random { get; private set; }

    /// <summary>Optimizer steps taken (restored from checkpoints).</summary>
    public long StepsDone { get; private set; }

    /// <summary>Frozen image tower on preprocessed images [B, 3, S, S]: block outputs at the heads' layers and the global embedding.</summary>
    public VcpImageFeatures ComputeFeatures(Tensor images)
    {
        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        var vision = Model.Clip.Vision.Forward(images, Model.Heads.DefaultBlocks());
        var global = scope.Keep(Model.Clip.Vision.GlobalEmbedding(vision.FinalTokens, applyLnPost: true));
        foreach (var t in vision.BlockOutputs)
        {
            scope.Keep(t);
        }
        if (!IsBlockOutput(vision.FinalTokens, vision.BlockOutputs))
        {
            vision.FinalTokens.Dispose();
        }
        return new VcpImageFeatures(vision.BlockOutputs, global);
    }

    /// <summary>A full step: features, forward, backward, Adam. masks: [B, S, S], anomalous where > 0.5.</summary>
    public VcpStepLoss Step(Tensor images, Tensor masks)
    {
        using var features = ComputeFeatures(images);
        return TrainOnFeatures(features, masks);
    }

    /// <summary>Counts an optimizer step taken by the caller after <see cref="ComputeGradients"/> (e.g. after dumping gradients).</summary>
    public void MarkStepDone() => StepsDone++;

    /// <summary>Forward, backward and one Adam step on cached features.</summary>
    public VcpStepLoss TrainOnFeatures(VcpImageFeatures features, Tensor masks)
    {
        var loss = ComputeGradients(features, masks);
        Optimizer.Step();
        StepsDone++;
        return loss;
    }

    /// <summary>
    /// Forward and backward only: afterwards every head parameter that received a gradient has it in
    /// <see cref="Gradients"/> (for --dump-grads and tests). Earlier gradients are cleared first.
    /// </summary>
    public VcpStepLoss ComputeGradients(VcpImageFeatures features, Tensor masks)
    {
        var s = Options.ImageSize;
        var b = features.Count;
        if (masks.Rank != 3 || masks.Shape[0] != b || masks.Shape[1] != s || masks.Shape[2] != s)
        {
            throw new ShapeMismatchException("vcp_train", masks.Shape, [b, s, s], "masks vs [batch, image size, image size]");
        }
        Optimizer.ZeroGrad();
        using var scope = new TensorScope();
        var heads = Model.Heads;
        var target = Binarize(masks);
        var (weightNormal, weightAnomalous) = SegmentationLosses.SmoothedOneHot(target);
        var z = heads.PreVcp(features.Global);
        var text = heads.EncodePrompts(Model.Clip.Text, z, Options.Dropout > 0f ? Random : null, Options.Dropout);
        var (rawLogits, newLogits) = heads.LogitDifferences(features.BlockOutputs, text, s);
        // Each map's loss is differentiated on its own down to the map (its ~12 full-size temporaries are freed
        // before the next map), then one backward of sum_maps <d, dLoss/dd> runs through the heads: the same
        // gradient as backward of the summed loss, with a fraction of the peak memory at 518 px.
        var lossRaw = 0f;
        var lossNew = 0f;
        Tensor? surrogate = null;
        for (var l = 0; l < rawLogits.Length; l++)
        {
            // float32 sums in the authors' order: loss_new += ..., loss_base += ..., loss = loss_new + loss_base
            lossRaw += MapLossAndSeed(rawLogits[l], target, weightNormal, weightAnomalous, ref surrogate);
            lossNew += MapLossAndSeed(newLogits[l], target, weightNormal, weightAnomalous, ref surrogate);
        }
        surrogate!.Backward();
        return new VcpStepLoss(lossNew + lossRaw, lossRaw, lossNew);
    }

    /// <summary>Focal + dice of one map; adds &lt;d, dLoss/dd&gt; to the surrogate whose backward reaches the heads.</summary>
    private static float MapLossAndSeed(Tensor logitDifference, Tensor target, Tensor weightNormal, Tensor weightAnomalous, ref Tensor? surrogate)
    {
        Tensor gradient;
        float value;
        using (var scope = new TensorScope())
        {
            var leaf = logitDifference.Detach();
            leaf.RequiresGrad = true;
            var loss = SegmentationLosses.BranchLoss(leaf, target, weightNormal, weightAnomalous);
            loss.Backward();
            value = loss.Item();
            gradient = leaf.Grad!;          // created outside any scope by the tape
            leaf.Grad = null;
        }
        var term = Ops.Sum(Ops.Mul(logitDifference, gradient));
        gradient.Dispose();
        surrogate = surrogate is null ? term : Ops.Add(surrogate, term);
        return value;
    }

    /// <summary>The gradient of every head parameter that has one after <see cref="ComputeGradients"/>, by checkpoint name.</summary>
    public IReadOnlyDictionary<string, Tensor> Gradients()
    {
        var result = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in Optimizer.AllParameters())
        {
            if (p.Grad is not null)
            {
                result[name] = p.Grad;
            }
        }
        return result;
    }

    /// <summary>
    /// The authors' gt[gt > 0.5] = 1, gt[gt &lt; 0.5] = 0 (a value of exactly 0.5 stays 0.5, as there).
    /// </summary>
    private static Tensor Binarize(Tensor masks)
    {
        var m = masks.ToArray();
        for (var i = 0; i < m.Length; i++)
        {
            m[i] = m[i] > 0.5f ? 1f : m[i] < 0.5f ? 0f : m[i];
        }
        return Tensor.FromArray(m, masks.Shape, masks.Backend);
    }

    private static bool IsBlockOutput(Tensor t, IReadOnlyList<Tensor> outputs)
    {
        foreach (var o in outputs)
        {
            if (ReferenceEquals(o, t))
            {
                return true;
            }
        }
        return false;
    }

    // ----- checkpoints -----

    /// <summary>
    /// Writes heads (the authors' flattened names, loadable as a head file), Adam moments, step, epoch and the random
    /// state to a safetensors file, atomically (temp file, then rename).
    /// </summary>
    public void SaveCheckpoint(string path, int epoch, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        var tensors = new List<(string Name, float[] Data, int[] Shape)>();
        foreach (var (name, p) in Optimizer.AllParameters())
        {
            tensors.Add((name, p.ToArray(), p.Shape.ToArray()));
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (extraMetadata is not null)
        {
            foreach (var kv in extraMetadata)
            {
                metadata[kv.Key] = kv.Value;
            }
        }
        Optimizer.ExportState(tensors, metadata);
        metadata["format"] = "vcp-native-train";
        metadata["train.step"] = StepsDone.ToString(CultureInfo.InvariantCulture);
        metadata["train.epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        metadata["train.rng"] = Random.State;
        metadata["train.seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture);
        metadata["train.image_size"] = Options.ImageSize.ToString(CultureInfo.InvariantCulture);
        metadata["train.dropout"] = Options.Dropout.ToString("R", CultureInfo.InvariantCulture);
        var entries = new List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>(tensors.Count);
        foreach (var (name, data, shape) in tensors)
        {
            var bytes = new byte[data.Length * sizeof(float)];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            entries.Add((name, WeightDType.F32, Array.ConvertAll(shape, d => (long)d), bytes));
        }
        SafetensorsWriter.Write(path, entries, metadata);
    }

    /// <summary>Loads heads, optimizer state, step and random state from a checkpoint; returns its epoch.</summary>
    public int RestoreCheckpoint(string path)
    {
        using var weights = WeightLoader.LoadVerbatim(path);
        var meta = weights.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != "vcp-native-train")
        {
            throw new ModelFormatException(path, null, null, $"expected a vcp-native training checkpoint (metadata format=vcp-native-train), found {(format is null ? "none" : format)}");
        }
        foreach (var (name, p) in Optimizer.AllParameters())
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
        Optimizer.ImportState(n => weights.TryGet(n, out var t) ? t.ToFloat32() : null, meta, path);
        StepsDone = long.Parse(Required(meta, "train.step", path), CultureInfo.InvariantCulture);
        Random = TrainingRandom.FromState(Required(meta, "train.rng", path));
        return int.Parse(Required(meta, "train.epoch", path), CultureInfo.InvariantCulture);
    }

    private static string Required(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new ModelFormatException(path, null, null, $"metadata key '{key}' missing");
}
