// VCP-CLIP inference for a batch of preprocessed images: image tower, Pre-VCP, prompts, both branches, post-processing.
using VcpNative.Models.Vcp;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;

namespace VcpNative.Anomaly.Inference;

/// <summary>
/// Runs the frozen model without a tape. Post-processing as the authors' test.py: map = gaussian(0.2 raw + 0.8 new,
/// sigma 8); score = mean of the top-2000 pixels of the unsmoothed raw map + the same for the new map.
/// </summary>
public sealed class VcpInference : IStageTimedInference
{
    /// <summary>Weight of the raw branch in the final map (the new branch gets 1 - RawWeight).</summary>
    public const float RawWeight = 0.2f;
    /// <summary>Sigma, in pixels, of the Gaussian smoothing of the final map.</summary>
    public const float GaussianSigma = 8f;
    /// <summary>Pixels averaged per branch for the image score.</summary>
    public const int TopK = 2000;

    private readonly VcpModel model;

    /// <summary>Inference with <paramref name="model"/> at <paramref name="imageSize"/> (a multiple of the patch size).</summary>
    public VcpInference(VcpModel model, int imageSize)
    {
        if (imageSize % model.Clip.Config.PatchSize != 0)
        {
            throw new ArgumentException($"image size {imageSize} must be a multiple of the CLIP patch size {model.Clip.Config.PatchSize}");
        }
        this.model = model;
        ImageSize = imageSize;
    }

    /// <inheritdoc/>
    public string Method => "vcp";

    /// <inheritdoc/>
    public ClassNormalisation Normalisation => ClassNormalisation.MinMaxPerClass;

    /// <inheritdoc/>
    public int ImageSize { get; }

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
        var heads = model.Heads;
        var vision = model.Clip.Vision.Forward(images, heads.DefaultBlocks());
        var global = model.Clip.Vision.GlobalEmbedding(vision.FinalTokens, applyLnPost: true);
        clock.Mark();
        var z = heads.PreVcp(global);
        var text = heads.EncodePrompts(model.Clip.Text, z);
        using var maps = heads.Maps(vision.BlockOutputs, text, ImageSize);
        vision.Dispose();
        clock.Mark();
        var (smooth, scores) = PostProcess(maps.Raw, maps.New, ImageSize);
        clock.Mark();
        LastTimings = clock.Timings;
        return new PendingAnomalyResults(scope.Detach(smooth), scope.Detach(scores), ImageSize);
    }

    /// <summary>Fusion, Gaussian smoothing and the top-k image score, per image: maps [B, S, S] and scores [B].</summary>
    public static (Tensor Maps, Tensor Scores) PostProcess(Tensor raw, Tensor fresh, int size)
    {
        var b = raw.Shape[0];
        var fused = Ops.Add(Ops.Scale(raw, RawWeight), Ops.Scale(fresh, 1f - RawWeight));
        var smooth = Ops.GaussianBlur2d(fused, GaussianSigma);
        var k = Math.Min(TopK, size * size);
        var flatRaw = Ops.Reshape(raw, b, size * size);
        var flatNew = Ops.Reshape(fresh, b, size * size);
        var (topRaw, _) = Ops.TopK(flatRaw, k);
        var (topNew, _) = Ops.TopK(flatNew, k);
        var scores = Ops.Add(Ops.Mean(topRaw, [1]), Ops.Mean(topNew, [1]));
        return (smooth, scores);
    }
}
