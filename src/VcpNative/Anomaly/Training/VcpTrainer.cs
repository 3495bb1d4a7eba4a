// One VCP-CLIP training step as the authors' train.py: frozen image tower, heads with a tape, focal + dice losses, Adam.
using System.Globalization;
using VcpNative.Anomaly.Features;
using VcpNative.Anomaly.Inference;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;

namespace VcpNative.Anomaly.Training;

/// <summary>Training hyper-parameters (defaults: the authors' train.sh for VisA as auxiliary data).</summary>
public sealed record VcpTrainingOptions
{
    /// <summary>Side of the square training images, in pixels.</summary>
    public int ImageSize { get; init; } = 518;

    /// <summary>Learning rate of the prompt and attention heads.</summary>
    public double LearningRate { get; init; } = 4e-5;

    /// <summary>Learning rate of the learned temperature.</summary>
    public double TemperatureLearningRate { get; init; } = 0.01;

    /// <summary>Dropout on the projected (deep) prompt tokens while training; 0 makes the step deterministic.</summary>
    public float Dropout { get; init; } = 0.1f;

    /// <summary>Seed of the trainer's random stream (dropout, data order).</summary>
    public ulong Seed { get; init; } = 333;
}

/// <summary>Loss of one step: total = raw (Pre-VCP branch) + new (Post-VCP branch), each summed over feature layers.</summary>
public readonly record struct VcpStepLoss(float Loss, float LossRaw, float LossNew);

/// <summary>
/// Trains the heads of a <see cref="VcpModel"/> in place. The image tower runs without a tape (its features can be
/// computed once with <see cref="ComputeFeatures"/> and reused); the heads and the frozen text tower run with one,
/// so gradients reach every head parameter through the text tower's inputs only (CLIP weights need no gradient).
/// </summary>
public sealed class VcpTrainer : IHeadTrainer
{
    string IHeadTrainer.Method => "vcp";

    int IHeadTrainer.ImageSize => Options.ImageSize;

    TrainingLoss IHeadTrainer.ComputeGradients(ImageFeatures features, Tensor masks, IReadOnlyList<int> labels)
    {
        var loss = ComputeGradients(features, masks);
        return new TrainingLoss(loss.Loss, "loss_raw", loss.LossRaw, "loss_new", loss.LossNew);
    }

    void IHeadTrainer.ApplyStep()
    {
        Optimizer.Step();
        StepsDone++;
    }

    /// <summary>Prefix of checkpoint tensors that are not head parameters.</summary>
    public const string OptimizerPrefix = TrainingCheckpoint.OptimizerPrefix;

    /// <summary>A trainer of <paramref name="model"/>'s heads with <paramref name="options"/>.</summary>
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

    /// <summary>The model whose heads are trained.</summary>
    public VcpModel Model { get; }

    /// <inheritdoc/>
    public IAnomalyInference Inference() => new VcpInference(Model, Options.ImageSize);

    /// <summary>The options the trainer was created with.</summary>
    public VcpTrainingOptions Options { get; }

    /// <summary>Adam over the trainable head tensors.</summary>
    public AdamOptimizer Optimizer { get; }

    /// <summary>Drives prompt dropout (and may drive data order); saved in checkpoints.</summary>
    public TrainingRandom Random { get; private set; }

    /// <summary>Optimizer steps taken (restored from checkpoints).</summary>
    public long StepsDone { get; private set; }

    /// <summary>Frozen image tower on preprocessed images [B, 3, S, S]: block outputs at the heads' layers and the global embedding.</summary>
    public ImageFeatures ComputeFeatures(Tensor images)
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
        return new ImageFeatures(vision.BlockOutputs, global);
    }

    /// <summary>A full step: features, forward, backward, Adam. masks: [B, S, S], anomalous where > 0.5.</summary>
    public VcpStepLoss Step(Tensor images, Tensor masks)
    {
        using var features = ComputeFeatures(images);
        return TrainOnFeatures(features, masks);
    }

    /// <summary>Forward, backward and one Adam step on cached features.</summary>
    public VcpStepLoss TrainOnFeatures(ImageFeatures features, Tensor masks)
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
    public VcpStepLoss ComputeGradients(ImageFeatures features, Tensor masks)
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
        // Each map's loss is differentiated on its own down to the map, then one backward runs through the heads.
        var lossRaw = 0f;
        var lossNew = 0f;
        var surrogate = new MapLossSurrogate();
        for (var l = 0; l < rawLogits.Length; l++)
        {
            // float32 sums in the authors' order: loss_new += ..., loss_base += ..., loss = loss_new + loss_base
            lossRaw += surrogate.Add(rawLogits[l], d => SegmentationLosses.BranchLoss(d, target, weightNormal, weightAnomalous));
            lossNew += surrogate.Add(newLogits[l], d => SegmentationLosses.BranchLoss(d, target, weightNormal, weightAnomalous));
        }
        surrogate.Backward();
        return new VcpStepLoss(lossNew + lossRaw, lossRaw, lossNew);
    }

    /// <summary>The gradient of every head parameter that has one after <see cref="ComputeGradients"/>, by checkpoint name.</summary>
    public IReadOnlyDictionary<string, Tensor> Gradients() => TrainingCheckpoint.Gradients(Optimizer);

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
        var metadata = TrainingCheckpoint.TrainerMetadata("vcp", StepsDone, epoch, Random, Options.Seed, Options.ImageSize, extraMetadata);
        metadata["train.dropout"] = Options.Dropout.ToString("R", CultureInfo.InvariantCulture);
        TrainingCheckpoint.Save(path, Model.Heads.Parameters, Optimizer, metadata);
    }

    /// <summary>Loads heads, optimizer state, step and random state from a checkpoint; returns its epoch.</summary>
    public int RestoreCheckpoint(string path)
    {
        (StepsDone, Random, var epoch) = TrainingCheckpoint.RestoreTrainer(path, Optimizer);
        return epoch;
    }
}
