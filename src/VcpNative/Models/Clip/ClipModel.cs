// Both CLIP towers built from one weight file.
using VcpNative.Tensors;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Clip;

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
    /// Makes the image tower's transformer-block linear layers (qkv, attention output, MLP fc1 and fc2) compute as
    /// <paramref name="compute"/> says, on their backend (<see cref="IBackend.PrepareInt8Linear"/>); the patch embedding,
    /// attention products, layer norms, text tower and heads stay fp32. Throws <see cref="NotSupportedException"/> when
    /// the backend has no int8 linear layers.
    /// </summary>
    public void UseImageBlockCompute(LinearCompute compute)
    {
        if (compute == LinearCompute.Fp32)
        {
            return;
        }
        foreach (var name in Parameters.Names)
        {
            if (name.StartsWith(VisionPrefix, StringComparison.Ordinal) && ClipWeightNames.IsBlockLinearWeight(name))
            {
                var weight = Parameters.Get(name);
                weight.Backend.PrepareInt8Linear(weight);
            }
        }
    }

    private const string VisionPrefix = "visual.";

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
