// CLIP architecture hyper-parameters, inferred from the weights as OpenAI's build_model does.
namespace VcpNative.Models.Clip;

/// <summary>Which MLP activation the towers use: OpenAI's QuickGELU, or exact GELU (VCP-CLIP's modified backbone).</summary>
public enum ClipActivation
{
    QuickGelu,
    Gelu,
}

/// <summary>Widths, depths and sizes of both CLIP towers; nothing is hard-coded to ViT-L/14.</summary>
public sealed record ClipConfig(
    int VisionWidth,
    int VisionLayers,
    int VisionHeads,
    int PatchSize,
    int NativeGrid,
    int EmbedDim,
    int TextWidth,
    int TextLayers,
    int TextHeads,
    int ContextLength,
    int VocabSize)
{
    /// <summary>Input resolution the position embedding was trained for (336 for ViT-L/14-336).</summary>
    public int NativeImageSize => NativeGrid * PatchSize;

    /// <summary>Reads the architecture off the tensor shapes (heads = width / 64, as in OpenAI's build_model).</summary>
    public static ClipConfig Infer(ParameterSet p)
    {
        var conv = p.Get("visual.conv1.weight");
        if (conv.Rank != 4 || conv.Shape[1] != 3 || conv.Shape[2] != conv.Shape[3])
        {
            throw new WeightsConverter.ModelFormatException(p.Source, null, "visual.conv1.weight", $"expected shape [width,3,P,P], found {Tensors.Shapes.Format(conv.Shape)}");
        }
        var visionWidth = conv.Shape[0];
        var patch = conv.Shape[2];
        var pos = p.Get("visual.positional_embedding", -1, visionWidth);
        var grid = (int)Math.Round(Math.Sqrt(pos.Shape[0] - 1));
        if (grid * grid + 1 != pos.Shape[0])
        {
            throw new WeightsConverter.ModelFormatException(p.Source, null, "visual.positional_embedding", $"expected 1 + grid^2 rows, found {pos.Shape[0]}");
        }
        var visionLayers = p.CountIndexed("visual.transformer.resblocks", "ln_1.weight");
        var embed = p.Get("visual.proj", visionWidth, -1).Shape[1];
        var textWidth = p.Get("ln_final.weight", -1).Shape[0];
        var context = p.Get("positional_embedding", -1, textWidth).Shape[0];
        var vocab = p.Get("token_embedding.weight", -1, textWidth).Shape[0];
        var textLayers = p.CountIndexed("transformer.resblocks", "ln_1.weight");
        p.Get("text_projection", textWidth, embed);
        if (visionLayers == 0 || textLayers == 0)
        {
            throw new WeightsConverter.ModelFormatException(p.Source, null, visionLayers == 0 ? "visual.transformer.resblocks.0.ln_1.weight" : "transformer.resblocks.0.ln_1.weight", "no transformer blocks found");
        }
        return new ClipConfig(visionWidth, visionLayers, Math.Max(1, visionWidth / 64), patch, grid, embed,
            textWidth, textLayers, Math.Max(1, textWidth / 64), context, vocab);
    }
}
