// A loaded VCP-CLIP model: the CLIP towers as VCP-CLIP modifies them plus the heads, validated against each other.
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Models.Vcp;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Inference;

/// <summary>CLIP (exact GELU, antialiased bicubic position resize) and VCP heads that fit it.</summary>
public sealed class VcpModel : IDisposable
{
    /// <summary>Combines a loaded CLIP and the VCP heads; takes ownership of both.</summary>
    public VcpModel(ClipModel clip, VcpHeads heads)
    {
        Clip = clip;
        Heads = heads;
    }

    /// <summary>The frozen CLIP towers.</summary>
    public ClipModel Clip { get; }

    /// <summary>The VCP-CLIP prompt and attention heads.</summary>
    public VcpHeads Heads { get; }

    /// <summary>
    /// Loads CLIP (our safetensors, OpenAI .pt, torch.save, Hugging Face) and heads (our safetensors or the authors' .pth).
    /// A head that does not fit the CLIP is refused here, before any image is read, naming both shapes.
    /// </summary>
    public static VcpModel Load(string clipPath, string headPath, IBackend? backend = null)
    {
        var clip = ClipModel.Load(clipPath, ClipActivation.Gelu, PositionResizeMode.BicubicAntialias, backend);
        return clip.BuildOrDispose(c => new VcpModel(c, new VcpHeads(ParameterSet.Load(headPath, backend), c.Config)));
    }

    /// <summary>
    /// VCP heads on an already built <paramref name="clip"/> (taken over: disposed if the heads do not fit): read from
    /// <paramref name="init"/>, or the authors' random initialisation with <paramref name="seed"/> when it is null.
    /// </summary>
    public static VcpModel WithHeads(ClipModel clip, string? init, int seed, IBackend backend) =>
        clip.BuildOrDispose(c => new VcpModel(c, new VcpHeads(
            init is not null
                ? ParameterSet.Load(init, backend)
                : RandomWeights.VcpHeads(new ModelArchitecture("train", c.Config, 2, 1, 4), seed, backend),
            c.Config)));

    /// <summary>
    /// A model of the named architecture with seeded random weights (benchmarks, tests); no files are read. The CLIP
    /// blocks' linear weights are stored in <paramref name="weightsFormat"/> (see <see cref="RandomWeights.Clip"/>).
    /// </summary>
    public static VcpModel Random(ModelArchitecture arch, int seed, IBackend? backend = null,
        WeightsConverter.Quantization.LinearWeightFormat weightsFormat = WeightsConverter.Quantization.LinearWeightFormat.F32)
    {
        var clip = new ClipModel(RandomWeights.Clip(arch, seed, backend, weightsFormat), ClipActivation.Gelu, PositionResizeMode.BicubicAntialias);
        var heads = new VcpHeads(RandomWeights.VcpHeads(arch, seed, backend), clip.Config);
        return new VcpModel(clip, heads);
    }

    /// <summary>Frees the CLIP and head weights.</summary>
    public void Dispose()
    {
        Clip.Dispose();
        Heads.Parameters.Dispose();
    }
}
