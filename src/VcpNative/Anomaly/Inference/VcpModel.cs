// A loaded VCP-CLIP model: the CLIP towers as VCP-CLIP modifies them plus the heads, validated against each other.
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Models.Vcp;
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Anomaly.Inference;

/// <summary>CLIP (exact GELU, antialiased bicubic position resize) and VCP heads that fit it.</summary>
public sealed class VcpModel : IDisposable
{
    public VcpModel(ClipModel clip, VcpHeads heads)
    {
        Clip = clip;
        Heads = heads;
    }

    public ClipModel Clip { get; }

    public VcpHeads Heads { get; }

    /// <summary>
    /// Loads CLIP (our safetensors, OpenAI .pt, torch.save, Hugging Face) and heads (our safetensors or the authors' .pth).
    /// A head that does not fit the CLIP is refused here, before any image is read, naming both shapes.
    /// </summary>
    public static VcpModel Load(string clipPath, string headPath, IBackend? backend = null)
    {
        var clip = ClipModel.Load(clipPath, ClipActivation.Gelu, PositionResizeMode.BicubicAntialias, backend);
        try
        {
            using var headWeights = WeightLoader.LoadVerbatim(headPath);
            var heads = new VcpHeads(ParameterSet.FromWeights(headWeights, backend), clip.Config);
            return new VcpModel(clip, heads);
        }
        catch
        {
            clip.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Clip.Dispose();
        Heads.Parameters.Dispose();
    }
}
