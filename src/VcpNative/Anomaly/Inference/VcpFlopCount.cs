// Analytic floating-point operation count of one VCP-CLIP inference, for the bench verb's GFLOP/s.
using VcpNative.Models.Clip;

namespace VcpNative.Anomaly.Inference;

/// <summary>FLOPs of one image split as the bench reports its stages (a multiply-add counts as 2).</summary>
public readonly record struct VcpFlops(double Vision, double TextAndHeads)
{
    /// <summary>Vision + TextAndHeads.</summary>
    public double Total => Vision + TextAndHeads;
}

/// <summary>
/// Counts the matrix products only (LayerNorm, softmax, GELU, upsampling and post-processing are O(elements) and left
/// out). Notation: S image size, P patch, g = S / P, Np = g^2 patches, L = Np + 1 tokens, W vision width, E embed
/// width, Wt text width, T context length (77), r, n the VCP prompt lengths, F feature layers, Wp Post-VCP width (= W).
/// <code>
/// vision  = 2 Np (3 P^2) W                                  patch conv
///         + layers * (24 L W^2                              qkv 6LW^2 + out 2LW^2 + MLP 16LW^2 (4x hidden)
///                     + 4 L^2 W)                            QK^T and PV: 4 L^2 D per head, H D = W
///         + 2 W E                                           ln_post(cls) @ proj
/// text    = 2 prompts * (text layers * (24 T Wt^2 + 4 T^2 Wt)   full T x T attention, as PyTorch computes it
///                        + text layers * 2 n Wt^2               prompt_proj of the (deep) prompt tokens
///                        + 2 Wt E)                              EOT row @ text_projection
/// pre-VCP = 2 r E * 3                                        Conv1d(1 -> r, k 3)
/// per feature layer:
///   post-VCP = 2*2 E Wp + 2*2 Np W Wp                         q (2 texts), k and v (Np patches)
///            + 4 * 2 Np Wp                                    attention of 2 queries over Np keys
///            + 2*2 Wp^2 + 2*2 Np W                            proj_post_t, logits S Tn^T
///   pre-VCP  = 2 Np W E + 2*2 Np E                            LinearLayer_l, logits P Tb^T
/// </code>
/// At S = 518 for ViT-L/14 (g = 37, L = 1370, W = 1024): vision ~1.01 TFLOP, text + heads ~0.06 TFLOP.
/// </summary>
public static class VcpFlopCount
{
    /// <summary>FLOPs of one image through VCP-CLIP at <paramref name="imageSize"/>.</summary>
    public static VcpFlops PerImage(ClipConfig c, int promptLength, int deepPromptLength, int featureLayers, int imageSize)
    {
        var np = Patches(c, imageSize);
        double w = c.VisionWidth;
        double e = c.EmbedDim;
        var vision = ImageTower(c, imageSize) + (2 * w * e);
        double wt = c.TextWidth;
        var text = 2 * (TextTower(c) + (c.TextLayers * 2 * deepPromptLength * wt * wt));
        var preVcp = 2 * promptLength * e * 3;
        var postVcp = CrossAttention(np, 2, e, w, w);
        var linear = (2 * np * w * e) + (2 * 2 * np * e);
        return new VcpFlops(vision, text + preVcp + (featureLayers * (postVcp + linear)));
    }

    /// <summary>Patch convolution and every transformer block of the image tower (no projection).</summary>
    public static double ImageTower(ClipConfig c, int imageSize)
    {
        var np = Patches(c, imageSize);
        var l = np + 1;
        double w = c.VisionWidth;
        double p = c.PatchSize;
        return (2 * np * (3 * p * p) * w) + (c.VisionLayers * ((24 * l * w * w) + (4 * l * l * w)));
    }

    /// <summary>Np = (S / P)^2, the patches of one image.</summary>
    public static double Patches(ClipConfig c, int imageSize)
    {
        double g = imageSize / c.PatchSize;
        return g * g;
    }

    /// <summary>One prompt through the text tower (full T x T attention, as PyTorch computes it) and its EOT row @ text_projection.</summary>
    public static double TextTower(ClipConfig c)
    {
        double wt = c.TextWidth;
        double t = c.ContextLength;
        return (c.TextLayers * ((24 * t * wt * wt) + (4 * t * t * wt))) + (2 * wt * c.EmbedDim);
    }

    /// <summary>
    /// The shared text-to-patch cross-attention (Post-VCP, FGP) for <paramref name="texts"/> queries of width
    /// <paramref name="textWidth"/> over Np patches of width <paramref name="patchWidth"/> at output width
    /// <paramref name="width"/>, plus the logits of the patches against the refined texts.
    /// </summary>
    public static double CrossAttention(double patches, int texts, double textWidth, double patchWidth, double width) =>
        (2 * texts * textWidth * width) + (2 * 2 * patches * patchWidth * width) + (4 * texts * patches * width)
        + (2 * texts * width * width) + (2 * texts * patches * patchWidth);
}
