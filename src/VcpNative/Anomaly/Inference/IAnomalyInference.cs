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

    int ImageSize { get; }

    /// <summary>The per-class normalisation the method's authors apply before their metrics.</summary>
    ClassNormalisation Normalisation { get; }

    /// <summary>images: [B, 3, S, S] normalised CLIP input.</summary>
    AnomalyImageResult[] Run(Tensor images);
}
