// Analytic floating-point operation count of one ViP2-CLIP inference, for the bench verb's GFLOP/s.
using VcpNative.Models.Clip;

namespace VcpNative.Anomaly.Inference;

/// <summary>
/// Counts the matrix products only, in the notation of <see cref="VcpFlopCount"/> (H Meta-Net hidden width, R generic
/// tokens, F feature layers):
/// <code>
/// vision  = image tower + F * 2 L W E                     ln_post(block) @ proj per feature layer
///         + 2 W E                                        cls @ proj (global feature)
/// ICA     = R * (2 E H + 2 H Wt)                         one Meta-Net MLP per generic token
/// text    = 2 prompts * text tower                       normal and anomalous prompt, image-conditioned
/// per feature layer:
///   FGP   = cross-attention of 2 texts over Np patches at width E
///   UTPA  = 2*2 Np E                                     patch cosines against both prompts
/// </code>
/// </summary>
public static class Vip2FlopCount
{
    /// <summary>FLOPs of one image through ViP2-CLIP at <paramref name="imageSize"/>.</summary>
    public static VcpFlops PerImage(ClipConfig c, int genericTokens, int metaHidden, int featureLayers, int imageSize)
    {
        var np = VcpFlopCount.Patches(c, imageSize);
        double w = c.VisionWidth;
        double e = c.EmbedDim;
        var vision = VcpFlopCount.ImageTower(c, imageSize) + (featureLayers * 2 * (np + 1) * w * e) + (2 * w * e);
        var ica = genericTokens * ((2 * e * metaHidden) + (2 * metaHidden * c.TextWidth));
        var text = 2 * VcpFlopCount.TextTower(c);
        var perLayer = VcpFlopCount.CrossAttention(np, 2, e, e, e) + (2 * 2 * np * e);
        return new VcpFlops(vision, ica + text + (featureLayers * perLayer));
    }
}
