// VCP-CLIP inference for a batch of preprocessed images: image tower, Pre-VCP, prompts, both branches, post-processing.
using VcpNative.Models.Vcp;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;

namespace VcpNative.Anomaly.Inference;

/// <summary>
/// Runs the frozen model without a tape. Post-processing as the authors' test.py: map = gaussian(0.2 raw + 0.8 new,
/// sigma 8); score = mean of the top-2000 pixels of the unsmoothed raw map + the same for the new map.
/// </summary>
public sealed class VcpInference : IAnomalyInference
{
    public const float RawWeight = 0.2f;
    public const float GaussianSigma = 8f;
    public const int TopK = 2000;

    private readonly VcpModel model;

    public VcpInference(VcpModel model, int imageSize)
    {
        if (imageSize % model.Clip.Config.PatchSize != 0)
        {
            throw new ArgumentException($"--image-size {imageSize} must be a multiple of the CLIP patch size {model.Clip.Config.PatchSize}");
        }
        this.model = model;
        ImageSize = imageSize;
    }

    public string Method => "vcp";

    public ClassNormalisation Normalisation => ClassNormalisation.MinMaxPerClass;

    public int ImageSize { get; }

    /// <summary>Per-stage wall time of the last batch (seconds): image tower, text tower + heads, post-processing.</summary>
    public (double Vision, double Heads, double Post) LastTimings { get; private set; }

    /// <summary>images: [B, 3, S, S] normalised CLIP input.</summary>
    public AnomalyImageResult[] Run(Tensor images)
    {
        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var heads = model.Heads;
        var vision = model.Clip.Vision.Forward(images, heads.DefaultBlocks());
        var global = model.Clip.Vision.GlobalEmbedding(vision.FinalTokens, applyLnPost: true);
        var tVision = sw.Elapsed.TotalSeconds;
        var z = heads.PreVcp(global);
        var text = heads.EncodePrompts(model.Clip.Text, z);
        using var maps = heads.Maps(vision.BlockOutputs, text, ImageSize);
        vision.Dispose();
        var tHeads = sw.Elapsed.TotalSeconds;
        var results = PostProcess(maps.Raw, maps.New, ImageSize);
        LastTimings = (tVision, tHeads - tVision, sw.Elapsed.TotalSeconds - tHeads);
        return results;
    }

    /// <summary>Fusion, Gaussian smoothing and the top-k image score, per image.</summary>
    public static AnomalyImageResult[] PostProcess(Tensor raw, Tensor fresh, int size)
    {
        using var scope = new TensorScope();
        var b = raw.Shape[0];
        var fused = Ops.Add(Ops.Scale(raw, RawWeight), Ops.Scale(fresh, 1f - RawWeight));
        var smooth = Ops.GaussianBlur2d(fused, GaussianSigma);
        var k = Math.Min(TopK, size * size);
        var flatRaw = Ops.Reshape(raw, b, size * size);
        var flatNew = Ops.Reshape(fresh, b, size * size);
        var (topRaw, _) = Ops.TopK(flatRaw, k);
        var (topNew, _) = Ops.TopK(flatNew, k);
        var scores = Ops.Add(Ops.Mean(topRaw, [1]), Ops.Mean(topNew, [1])).ToArray();
        var maps = smooth.ToArray();
        var results = new AnomalyImageResult[b];
        for (var i = 0; i < b; i++)
        {
            results[i] = new AnomalyImageResult(maps.AsSpan(i * size * size, size * size).ToArray(), scores[i], size);
        }
        return results;
    }
}
