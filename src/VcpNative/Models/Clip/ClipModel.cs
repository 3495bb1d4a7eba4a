// Both CLIP towers built from one weight file.
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Models.Clip;

/// <summary>A CLIP model (image and text towers) whose architecture is inferred from its weights.</summary>
public sealed class ClipModel : IDisposable
{
    public ClipModel(ParameterSet parameters, ClipActivation activation, PositionResizeMode positionResize)
    {
        Parameters = parameters;
        Config = ClipConfig.Infer(parameters);
        Activation = activation;
        Vision = new VisionTransformer(parameters, Config, activation, positionResize);
        Text = new TextTransformer(parameters, Config, activation);
    }

    public ParameterSet Parameters { get; }

    public ClipConfig Config { get; }

    public ClipActivation Activation { get; }

    public VisionTransformer Vision { get; }

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

    public void Dispose() => Parameters.Dispose();
}
