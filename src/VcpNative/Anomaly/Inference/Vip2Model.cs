// A loaded ViP2-CLIP model: the unmodified CLIP towers (QuickGELU, bilinear position resize) plus the ICA/FGP heads.
using VcpNative.Anomaly.Features;
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Models.Vip2;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;

namespace VcpNative.Anomaly.Inference;

/// <summary>CLIP as ViP2-CLIP runs it and heads that fit it; also the frozen image features both inference and training read.</summary>
public sealed class Vip2Model : IDisposable
{
    /// <summary>Combines a loaded CLIP and the ViP2 heads; takes ownership of both.</summary>
    public Vip2Model(ClipModel clip, Vip2Heads heads)
    {
        Clip = clip;
        Heads = heads;
    }

    /// <summary>The frozen CLIP towers.</summary>
    public ClipModel Clip { get; }

    /// <summary>The ViP2-CLIP prompt heads (ICA, FGP, UTPA).</summary>
    public Vip2Heads Heads { get; }

    /// <summary>
    /// Loads CLIP (any supported format) with QuickGELU and bilinear (align_corners=False) position resizing, and heads
    /// (our safetensors or the authors' .pth). A head that does not fit the CLIP is refused here, naming both shapes.
    /// </summary>
    public static Vip2Model Load(string clipPath, string headPath, IBackend? backend = null)
    {
        var clip = ClipModel.Load(clipPath, ClipActivation.QuickGelu, PositionResizeMode.Bilinear, backend);
        return clip.BuildOrDispose(c => new Vip2Model(c, new Vip2Heads(ParameterSet.Load(headPath, backend), c.Config)));
    }

    /// <summary>
    /// Frozen image tower, no tape: per feature layer ln_post(block) @ proj [B, 1 + g^2, E], and the global feature
    /// normalize(cls_final @ proj) [B, E] (no ln_post, as the authors' encode_image).
    /// </summary>
    public ImageFeatures ComputeFeatures(Tensor images)
    {
        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        using var vision = Clip.Vision.Forward(images, Heads.DefaultBlocks());
        var global = scope.Keep(Ops.L2Normalize(Clip.Vision.GlobalEmbedding(vision.FinalTokens, applyLnPost: false)));
        var projected = new Tensor[vision.BlockOutputs.Count];
        for (var l = 0; l < projected.Length; l++)
        {
            projected[l] = scope.Keep(Clip.Vision.ProjectTokens(vision.BlockOutputs[l]));
        }
        return new ImageFeatures(projected, global);
    }

    /// <summary>Frees the CLIP and head weights.</summary>
    public void Dispose()
    {
        Clip.Dispose();
        Heads.Parameters.Dispose();
    }
}
