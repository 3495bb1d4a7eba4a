// ViP2-CLIP inference for a batch of preprocessed images: image tower, ICA prompts, text tower, UTPA, post-processing.
using VcpNative.Models.Vip2;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;

namespace VcpNative.Anomaly.Inference;

/// <summary>
/// Runs the frozen model without a tape. Post-processing as the authors' test.py: per layer (P1 + 1 - P0) / 2, mean over
/// layers, Gaussian sigma 8, no per-class normalisation; score = softmax(m / 0.07)[1].
/// </summary>
public sealed class Vip2Inference : IStageTimedInference
{
    /// <summary>Sigma, in pixels, of the Gaussian smoothing of the final map.</summary>
    public const float GaussianSigma = 8f;

    private readonly Vip2Model model;

    /// <summary>Inference with <paramref name="model"/> at <paramref name="imageSize"/> (a multiple of the patch size).</summary>
    public Vip2Inference(Vip2Model model, int imageSize)
    {
        if (imageSize % model.Clip.Config.PatchSize != 0)
        {
            throw new ArgumentException($"image size {imageSize} must be a multiple of the CLIP patch size {model.Clip.Config.PatchSize}");
        }
        this.model = model;
        ImageSize = imageSize;
    }

    /// <inheritdoc/>
    public string Method => "vip2";

    /// <inheritdoc/>
    public int ImageSize { get; }

    /// <inheritdoc/>
    public ClassNormalisation Normalisation => ClassNormalisation.None;

    /// <inheritdoc/>
    public (double Vision, double Heads, double Post) LastTimings { get; private set; }

    /// <inheritdoc/>
    public bool SynchronizeStages { get; set; }

    /// <inheritdoc/>
    public PendingAnomalyResults Launch(Tensor images)
    {
        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        var clock = new StageClock(images, SynchronizeStages);
        using var features = model.ComputeFeatures(images);
        clock.Mark();
        var text = model.Heads.EncodePrompts(model.Clip.Text, features.Global);
        using var outputs = model.Heads.Forward(features.BlockOutputs, text, ImageSize);
        clock.Mark();
        var (maps, scores) = PostProcess(outputs);
        clock.Mark();
        LastTimings = clock.Timings;
        return new PendingAnomalyResults(scope.Detach(maps), scope.Detach(scores), ImageSize);
    }

    /// <summary>Layer mean of (P1 + 1 - P0) / 2, Gaussian smoothing, and the image probability: maps [B, S, S], scores [B].</summary>
    public static (Tensor Maps, Tensor Scores) PostProcess(Vip2Outputs outputs)
    {
        Tensor? sum = null;
        foreach (var p in outputs.Probabilities)
        {
            var layer = Ops.Scale(Ops.AddScalar(Ops.Sub(Ops.Select(p, 1, 1), Ops.Select(p, 1, 0)), 1f), 0.5f);
            sum = sum is null ? layer : Ops.Add(sum, layer);
        }
        var mean = Ops.Scale(sum!, 1f / outputs.Probabilities.Count);
        var maps = Ops.GaussianBlur2d(mean, GaussianSigma);
        var logits = outputs.ImageLogits;
        var scores = Ops.Sigmoid(Ops.Sub(Ops.Select(logits, 1, 1), Ops.Select(logits, 1, 0)));
        return (maps, scores);
    }
}
