// The one place that decides which method a head file belongs to and loads CLIP the way that method needs it.
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Anomaly.Inference;

/// <summary>A loaded method ready for inference; disposing it frees CLIP and the heads.</summary>
public sealed class LoadedAnomalyModel : IDisposable
{
    private readonly IDisposable owner;

    public LoadedAnomalyModel(string method, IAnomalyInference inference, IDisposable owner)
    {
        Method = method;
        Inference = inference;
        this.owner = owner;
    }

    /// <summary>"vcp" or "vip2".</summary>
    public string Method { get; }

    public IAnomalyInference Inference { get; }

    public void Dispose() => owner.Dispose();
}

/// <summary>
/// Method detection and loading for infer, eval, calibrate and compare. VCP-CLIP needs CLIP with exact GELU and
/// antialiased bicubic position resizing, ViP2-CLIP the original QuickGELU and bilinear: each is built from the same file.
/// </summary>
public static class AnomalyModelLoader
{
    public const string Vcp = "vcp";
    public const string Vip2 = "vip2";

    public static readonly string[] Methods = [Vcp, Vip2];

    /// <summary>
    /// The method of a head file: its safetensors metadata <c>method</c> when present, else its key names
    /// (<c>prompt_learner.*</c> is ViP2-CLIP, <c>trainable_linearlayer.*</c> is VCP-CLIP).
    /// </summary>
    public static string DetectMethod(string headPath)
    {
        using var weights = WeightLoader.LoadVerbatim(headPath);
        if (weights.Metadata.TryGetValue("method", out var declared))
        {
            return Validate(declared, headPath);
        }
        foreach (var name in weights.Names)
        {
            if (name.StartsWith("prompt_learner.", StringComparison.Ordinal))
            {
                return Vip2;
            }
            if (name.StartsWith("trainable_linearlayer.", StringComparison.Ordinal))
            {
                return Vcp;
            }
        }
        throw new ModelFormatException(headPath, null, null,
            "cannot tell the method: expected metadata 'method' or tensors named prompt_learner.* (ViP2-CLIP) or trainable_linearlayer.* (VCP-CLIP), found neither");
    }

    /// <summary>Loads CLIP and heads for <paramref name="method"/> (detected from the head file when null) at one input size.</summary>
    public static LoadedAnomalyModel Load(string clipPath, string headPath, int imageSize, IBackend? backend = null, string? method = null)
    {
        var m = method is null ? DetectMethod(headPath) : Validate(method, headPath);
        if (m == Vcp)
        {
            var model = VcpModel.Load(clipPath, headPath, backend);
            try
            {
                return new LoadedAnomalyModel(m, new VcpInference(model, imageSize), model);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        var vip2 = Vip2Model.Load(clipPath, headPath, backend);
        try
        {
            return new LoadedAnomalyModel(m, new Vip2Inference(vip2, imageSize), vip2);
        }
        catch
        {
            vip2.Dispose();
            throw;
        }
    }

    private static string Validate(string method, string source)
    {
        var m = method.Trim().ToLowerInvariant();
        if (Array.IndexOf(Methods, m) < 0)
        {
            throw new ModelFormatException(source, null, null, $"unknown method '{method}': expected one of {string.Join(", ", Methods)}");
        }
        return m;
    }
}
