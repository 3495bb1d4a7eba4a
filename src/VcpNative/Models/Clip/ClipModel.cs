// Both CLIP towers built from one weight file.
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Models.Clip;

/// <summary>A CLIP model (image and text towers) whose architecture is inferred from its weights.</summary>
public sealed class ClipModel : IDisposable
{
    /// <summary>Builds both towers on <paramref name="parameters"/> (config inferred from their shapes); takes ownership of them.</summary>
    public ClipModel(ParameterSet parameters, ClipActivation activation, PositionResizeMode positionResize)
    {
        Parameters = parameters;
        Config = ClipConfig.Infer(parameters);
        Activation = activation;
        Vision = new VisionTransformer(parameters, Config, activation, positionResize);
        Text = new TextTransformer(parameters, Config, activation);
    }

    /// <summary>All CLIP weights by canonical name.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>Sizes inferred from the weights.</summary>
    public ClipConfig Config { get; }

    /// <summary>The MLP activation of every block.</summary>
    public ClipActivation Activation { get; }

    /// <summary>The image tower.</summary>
    public VisionTransformer Vision { get; }

    /// <summary>The text tower.</summary>
    public TextTransformer Text { get; }

    /// <summary>Loads any supported CLIP file (our safetensors, OpenAI TorchScript .pt, torch.save, Hugging Face).</summary>
    public static ClipModel Load(string path, ClipActivation activation, PositionResizeMode positionResize, IBackend? backend = null)
    {
        using var weights = WeightLoader.Load(path);
        var parameters = ParameterSet.FromWeights(weights, backend);
        return new ClipModel(parameters, activation, positionResize);
    }

    /// <summary>
    /// Builds a model that takes ownership of this CLIP (e.g. CLIP + heads); if building fails (a head that does not
    /// fit, a missing tensor), this CLIP is disposed before the exception propagates.
    /// </summary>
    public T BuildOrDispose<T>(Func<ClipModel, T> build)
    {
        try
        {
            return build(this);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Frees the weights.</summary>
    public void Dispose() => Parameters.Dispose();
}
