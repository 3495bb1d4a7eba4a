// What the train loop needs from a method's trainer (VCP-CLIP, ViP2-CLIP): features, a step, gradients, checkpoints.
using VcpNative.Anomaly.Features;
using VcpNative.Anomaly.Inference;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Training;

/// <summary>A step's total loss and its two named parts (VCP: loss_raw/loss_new; ViP2: loss_seg/loss_image).</summary>
public readonly record struct TrainingLoss(float Total, string FirstName, float First, string SecondName, float Second);

/// <summary>One method's trainer as the generic training loop drives it.</summary>
public interface IHeadTrainer
{
    /// <summary>Short method name ("vcp", "vip2").</summary>
    string Method { get; }

    /// <summary>Side of the square training images, in pixels.</summary>
    int ImageSize { get; }

    /// <summary>Optimizer steps taken so far (restored from checkpoints).</summary>
    long StepsDone { get; }

    /// <summary>Frozen image tower on [B, 3, S, S]; cacheable.</summary>
    ImageFeatures ComputeFeatures(Tensor images);

    /// <summary>Forward and backward; labels are the image anomaly flags (0/1).</summary>
    TrainingLoss ComputeGradients(ImageFeatures features, Tensor masks, IReadOnlyList<int> labels);

    /// <summary>The optimizer step after <see cref="ComputeGradients"/>; counts the step.</summary>
    void ApplyStep();

    /// <summary>The gradients of the trainable tensors after <see cref="ComputeGradients"/>, by name.</summary>
    IReadOnlyDictionary<string, Tensor> Gradients();

    /// <summary>Saves heads, optimizer state and random state after <paramref name="epoch"/>, with extra metadata.</summary>
    void SaveCheckpoint(string path, int epoch, IReadOnlyDictionary<string, string>? extraMetadata = null);

    /// <summary>Inference with the heads as they are now (no dropout, no tape), for validation between epochs.</summary>
    IAnomalyInference Inference();

    /// <summary>Loads a checkpoint written by <see cref="SaveCheckpoint"/> and returns its epoch.</summary>
    int RestoreCheckpoint(string path);
}
