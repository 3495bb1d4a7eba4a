// A loaded method (CLIP + heads) ready for inference, whichever method it is.
using VcpNative.Models.Clip;

namespace VcpNative.Anomaly.Inference;

/// <summary>A loaded method ready for inference; disposing it frees CLIP and the heads.</summary>
public sealed class LoadedAnomalyModel : IDisposable
{
    private readonly IDisposable owner;

    /// <summary>Wraps a method's model (<paramref name="owner"/>, disposed with this) and its inference.</summary>
    public LoadedAnomalyModel(string method, IAnomalyInference inference, IDisposable owner)
    {
        Method = method;
        Inference = inference;
        this.owner = owner;
    }

    /// <summary>"vcp" or "vip2".</summary>
    public string Method { get; }

    /// <summary>Inference at the size the model was loaded for.</summary>
    public IAnomalyInference Inference { get; }

    /// <summary>The CLIP towers as this method runs them; null when the loader did not say.</summary>
    public ClipModel? Clip { get; init; }

    /// <summary>The method's own model object (VcpModel, Vip2Model), for the method's trainer and FLOP count.</summary>
    public IDisposable Model => owner;

    /// <summary>
    /// Makes the image tower's transformer-block linear layers compute as <paramref name="compute"/> says (see
    /// <see cref="ClipModel.UseImageBlockCompute"/>); once, right after loading.
    /// </summary>
    public void UseImageBlockCompute(Tensors.LinearCompute compute)
    {
        if (compute == Tensors.LinearCompute.Fp32)
        {
            return;
        }
        if (Clip is null)
        {
            throw new NotSupportedException($"method '{Method}' does not expose its CLIP towers: cannot compute them in {compute}");
        }
        Clip.UseImageBlockCompute(compute);
    }

    /// <inheritdoc/>
    public void Dispose() => owner.Dispose();
}
