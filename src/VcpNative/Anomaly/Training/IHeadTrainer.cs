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
    string Method { get; }

    int ImageSize { get; }

    long StepsDone { get; }

    /// <summary>Frozen image tower on [B, 3, S, S]; cacheable.</summary>
    ImageFeatures ComputeFeatures(Tensor images);

    /// <summary>Forward and backward; labels are the image anomaly flags (0/1).</summary>
    TrainingLoss ComputeGradients(ImageFeatures features, Tensor masks, IReadOnlyList<int> labels);

    /// <summary>The optimizer step after <see cref="ComputeGradients"/>; counts the step.</summary>
    void ApplyStep();

    IReadOnlyDictionary<string, Tensor> Gradients();

    void SaveCheckpoint(string path, int epoch, IReadOnlyDictionary<string, string>? extraMetadata = null);

    /// <summary>Inference with the heads as they are now (no dropout, no tape), for validation between epochs.</summary>
    IAnomalyInference Inference();

    int RestoreCheckpoint(string path);
}
