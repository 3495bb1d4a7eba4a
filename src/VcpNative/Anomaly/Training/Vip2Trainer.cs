// One ViP2-CLIP training step as the authors' train.py: frozen image tower, ICA + FGP with a tape, UTPA losses, Adam.
using VcpNative.Anomaly.Features;
using VcpNative.Anomaly.Inference;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;

namespace VcpNative.Anomaly.Training;

/// <summary>Training hyper-parameters (defaults: the authors' train.sh).</summary>
public sealed record Vip2TrainingOptions
{
    /// <summary>Side of the square training images, in pixels.</summary>
    public int ImageSize { get; init; } = 518;

    /// <summary>ICA learning rate (args.learning_rate).</summary>
    public double IcaLearningRate { get; init; } = 1e-3;

    /// <summary>FGP learning rate (0.01 x the ICA rate upstream).</summary>
    public double FgpLearningRate { get; init; } = 1e-5;

    /// <summary>Seed of the trainer's random stream (data order).</summary>
    public ulong Seed { get; init; } = 111;
}

/// <summary>Loss of one step: total = segmentation (focal + two dice terms, summed over layers) + image cross-entropy.</summary>
public readonly record struct Vip2StepLoss(float Loss, float LossSegmentation, float LossImage);

/// <summary>
/// Trains the heads of a <see cref="Vip2Model"/> in place, in fp32. The image tower runs without a tape (features can
/// be computed once with <see cref="ComputeFeatures"/> and reused); ICA, the frozen text tower and FGP run with one.
/// </summary>
public sealed class Vip2Trainer : IHeadTrainer
{
    string IHeadTrainer.Method => "vip2";

    int IHeadTrainer.ImageSize => Options.ImageSize;

    TrainingLoss IHeadTrainer.ComputeGradients(ImageFeatures features, Tensor masks, IReadOnlyList<int> labels)
    {
        var loss = ComputeGradients(features, masks, labels);
        return new TrainingLoss(loss.Loss, "loss_seg", loss.LossSegmentation, "loss_image", loss.LossImage);
    }

    void IHeadTrainer.ApplyStep()
    {
        Optimizer.Step();
        StepsDone++;
    }

    /// <summary>A trainer of <paramref name="model"/>'s heads with <paramref name="options"/>.</summary>
    public Vip2Trainer(Vip2Model model, Vip2TrainingOptions options)
    {
        if (options.ImageSize % model.Clip.Config.PatchSize != 0)
        {
            throw new ArgumentException($"image size {options.ImageSize} must be a multiple of the CLIP patch size {model.Clip.Config.PatchSize}");
        }
        Model = model;
        Options = options;
        Optimizer = AdamOptimizer.ForVip2Heads(model.Heads.Parameters, options.IcaLearningRate, options.FgpLearningRate);
        Random = new TrainingRandom(options.Seed);
    }

    /// <summary>The model whose heads are trained.</summary>
    public Vip2Model Model { get; }

    /// <inheritdoc/>
    public IAnomalyInference Inference() => new Vip2Inference(Model, Options.ImageSize);

    /// <summary>The options the trainer was created with.</summary>
    public Vip2TrainingOptions Options { get; }

    /// <summary>Adam over the ICA and FGP tensors.</summary>
    public AdamOptimizer Optimizer { get; }

    /// <summary>For data order; saved in checkpoints (ViP2-CLIP has no dropout).</summary>
    public TrainingRandom Random { get; private set; }

    /// <inheritdoc/>
    public long StepsDone { get; private set; }

    /// <summary>Frozen image tower: projected tokens of the feature layers and the normalised global feature.</summary>
    public ImageFeatures ComputeFeatures(Tensor images) => Model.ComputeFeatures(images);

    /// <summary>A full step. masks [B, S, S] (anomalous where > 0.5); labels: image anomaly flags (0/1).</summary>
    public Vip2StepLoss Step(Tensor images, Tensor masks, IReadOnlyList<int> labels)
    {
        using var features = ComputeFeatures(images);
        return TrainOnFeatures(features, masks, labels);
    }

    /// <summary>Forward, backward and optimizer step on one batch of features; returns the losses.</summary>
    public Vip2StepLoss TrainOnFeatures(ImageFeatures features, Tensor masks, IReadOnlyList<int> labels)
    {
        var loss = ComputeGradients(features, masks, labels);
        Optimizer.Step();
        StepsDone++;
        return loss;
    }

    /// <summary>Forward and backward only (gradients in <see cref="Gradients"/>); earlier gradients are cleared first.</summary>
    public Vip2StepLoss ComputeGradients(ImageFeatures features, Tensor masks, IReadOnlyList<int> labels)
    {
        var s = Options.ImageSize;
        var b = features.Count;
        if (masks.Rank != 3 || masks.Shape[0] != b || masks.Shape[1] != s || masks.Shape[2] != s)
        {
            throw new ShapeMismatchException("vip2_train", masks.Shape, [b, s, s], "masks vs [batch, image size, image size]");
        }
        if (labels.Count != b)
        {
            throw new ShapeMismatchException("vip2_train", [labels.Count], [b], "image labels vs batch");
        }
        Optimizer.ZeroGrad();
        using var scope = new TensorScope();
        var heads = Model.Heads;
        var target = Binarize(masks);
        var background = Ops.AddScalar(Ops.Neg(target), 1f);
        var (weightNormal, weightAnomalous) = SegmentationLosses.SmoothedOneHot(target);
        var text = heads.EncodePrompts(Model.Clip.Text, features.Global);
        var outputs = heads.Forward(features.BlockOutputs, text, s);
        var surrogate = new MapLossSurrogate();
        var segmentation = 0f;
        foreach (var probabilities in outputs.Probabilities)
        {
            segmentation += surrogate.Add(probabilities, p =>
            {
                var normal = Ops.Select(p, 1, 0);
                var anomalous = Ops.Select(p, 1, 1);
                var focal = SegmentationLosses.Focal(normal, anomalous, weightNormal, weightAnomalous);
                return Ops.Add(Ops.Add(focal, SegmentationLosses.Dice(anomalous, target)), SegmentationLosses.Dice(normal, background));
            });
        }
        var image = ImageCrossEntropy(outputs.ImageLogits, labels);
        var imageLoss = image.Item();
        surrogate.AddTerm(image);
        surrogate.Backward();
        return new Vip2StepLoss(segmentation + imageLoss, segmentation, imageLoss);
    }

    /// <summary>F.cross_entropy over 2 logits [B, 2], mean over the batch: -log sigmoid(+-(l1 - l0)).</summary>
    public static Tensor ImageCrossEntropy(Tensor logits, IReadOnlyList<int> labels)
    {
        using var scope = new TensorScope();
        var signs = new float[labels.Count];
        for (var i = 0; i < signs.Length; i++)
        {
            signs[i] = labels[i] != 0 ? 1f : -1f;
        }
        var d = Ops.Sub(Ops.Select(logits, 1, 1), Ops.Select(logits, 1, 0));
        var signed = Ops.Mul(d, Tensor.FromArray(signs, [signs.Length], logits.Backend));
        return scope.Keep(Ops.Neg(Ops.Mean(Ops.Log(Ops.Sigmoid(signed)))));
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> Gradients() => TrainingCheckpoint.Gradients(Optimizer);

    /// <summary>The authors' gt[gt > 0.5] = 1, gt[gt &lt;= 0.5] = 0.</summary>
    private static Tensor Binarize(Tensor masks)
    {
        var m = masks.ToArray();
        for (var i = 0; i < m.Length; i++)
        {
            m[i] = m[i] > 0.5f ? 1f : 0f;
        }
        return Tensor.FromArray(m, masks.Shape, masks.Backend);
    }

    /// <summary>Heads (with the ICA buffers, so it loads as a head file), Adam state, step, epoch and random state.</summary>
    public void SaveCheckpoint(string path, int epoch, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        var metadata = TrainingCheckpoint.TrainerMetadata("vip2", StepsDone, epoch, Random, Options.Seed, Options.ImageSize, extraMetadata);
        TrainingCheckpoint.Save(path, Model.Heads.Parameters, Optimizer, metadata);
    }

    /// <summary>Loads parameters, optimizer state, step and random state; returns the checkpoint's epoch.</summary>
    public int RestoreCheckpoint(string path)
    {
        (StepsDone, Random, var epoch) = TrainingCheckpoint.RestoreTrainer(path, Optimizer);
        return epoch;
    }
}
