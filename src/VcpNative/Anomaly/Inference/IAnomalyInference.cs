// What every anomaly method offers the pipelines (infer, eval, calibrate, bench): images in, maps and scores out.
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Inference;

/// <summary>The result for one image before any per-dataset normalisation: the final pixel map [Size, Size] and the image score.</summary>
public sealed record AnomalyImageResult(float[] Map, float Score, int Size);

/// <summary>How eval treats a method's maps and image scores within one class before computing metrics.</summary>
public enum ClassNormalisation
{
    /// <summary>Min-max over the class's whole map stack and over its scores (VCP-CLIP's test.py).</summary>
    MinMaxPerClass,

    /// <summary>Raw smoothed maps and raw scores (ViP2-CLIP's test.py).</summary>
    None,
}

/// <summary>A loaded method (VCP-CLIP, ViP2-CLIP) running inference at one input size.</summary>
public interface IAnomalyInference
{
    /// <summary>Short method name ("vcp", "vip2").</summary>
    string Method { get; }

    /// <summary>Side of the square input images, in pixels (a multiple of the patch size).</summary>
    int ImageSize { get; }

    /// <summary>The per-class normalisation the method's authors apply before their metrics.</summary>
    ClassNormalisation Normalisation { get; }

    /// <summary>
    /// Issues the whole batch (images: [B, 3, S, S] normalised CLIP input) and returns its results still on the
    /// backend. On the CPU the work is done when this returns; on a GPU it is queued, and the host may upload the next
    /// batch before <see cref="PendingAnomalyResults.Collect"/> waits for this one. The caller may dispose
    /// <paramref name="images"/> as soon as this returns.
    /// </summary>
    PendingAnomalyResults Launch(Tensor images);
}

/// <summary>One batch's final maps (B x S x S values) and scores [B], on the backend that computed them, not yet read back.</summary>
public sealed class PendingAnomalyResults : IDisposable
{
    private readonly Tensor maps;
    private readonly Tensor scores;
    private readonly int size;

    /// <summary>Takes ownership of both tensors (they must belong to no <see cref="TensorScope"/>).</summary>
    public PendingAnomalyResults(Tensor maps, Tensor scores, int size)
    {
        if (scores.Rank != 1 || maps.Numel != (long)scores.Shape[0] * size * size)
        {
            throw new ShapeMismatchException("results", maps.Shape, scores.Shape, $"maps of B x {size} x {size} values vs scores [B]");
        }
        this.maps = maps;
        this.scores = scores;
        this.size = size;
    }

    /// <summary>Number of images in the batch.</summary>
    public int Count => scores.Shape[0];

    /// <summary>Reads the results back (waiting for the device on a GPU) and frees the device tensors.</summary>
    public AnomalyImageResult[] Collect()
    {
        var mapData = maps.ToArray();
        var scoreData = scores.ToArray();
        Dispose();
        var results = new AnomalyImageResult[scoreData.Length];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = new AnomalyImageResult(mapData.AsSpan(i * size * size, size * size).ToArray(), scoreData[i], size);
        }
        return results;
    }

    /// <summary>Frees the result tensors without reading them.</summary>
    public void Dispose()
    {
        maps.Dispose();
        scores.Dispose();
    }
}

/// <summary>Synchronous helpers over <see cref="IAnomalyInference"/>.</summary>
public static class AnomalyInferenceExtensions
{
    /// <summary>Launch and collect one batch: the synchronous form for callers with nothing to overlap.</summary>
    public static AnomalyImageResult[] Run(this IAnomalyInference inference, Tensor images)
    {
        using var pending = inference.Launch(images);
        return pending.Collect();
    }
}
