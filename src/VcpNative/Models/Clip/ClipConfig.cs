// CLIP architecture hyper-parameters, inferred from the weights as OpenAI's build_model does.
namespace VcpNative.Models.Clip;

/// <summary>Which MLP activation the towers use: OpenAI's QuickGELU, or exact GELU (VCP-CLIP's modified backbone).</summary>
public enum ClipActivation
{
    /// <summary>x * sigmoid(1.702 x) (OpenAI CLIP).</summary>
    QuickGelu,
    /// <summary>Exact GELU 0.5 x (1 + erf(x / sqrt 2)).</summary>
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
    public static ClipConfig Infer(ParameterSet p) => Infer(name => p.TryGet(name, out var t) ? t.Shape.ToArray() : null, p.Source);

    /// <summary>Same, from a weight file's tensors (shapes only: no tensor data is read).</summary>
    public static ClipConfig Infer(WeightsConverter.WeightSet weights) =>
        Infer(name => weights.TryGet(name, out var t) ? Array.ConvertAll(t.Shape, d => (int)d) : null, weights.SourcePath);

    /// <summary>Same, from a shape lookup (null = missing), so a weight file can be described without loading it.</summary>
    public static ClipConfig Infer(Func<string, int[]?> shapeOf, string source)
    {
        int[] Need(string name, params int[] expected)
        {
            var shape = shapeOf(name) ?? throw new WeightsConverter.ModelFormatException(source, null, name, "missing tensor (is this a CLIP weight file?)");
            var ok = shape.Length == expected.Length;
            for (var i = 0; ok && i < expected.Length; i++)
            {
                ok = expected[i] < 0 || expected[i] == shape[i];
            }
            return ok ? shape : throw new WeightsConverter.ModelFormatException(source, null, name, $"expected shape {Tensors.Shapes.Format(expected)}, found {Tensors.Shapes.Format(shape)}");
        }
        int Count(string prefix)
        {
            var n = 0;
            while (shapeOf($"{prefix}.{n}.ln_1.weight") is not null)
            {
                n++;
            }
            return n;
        }
        var conv = Need("visual.conv1.weight", -1, 3, -1, -1);
        if (conv[2] != conv[3])
        {
            throw new WeightsConverter.ModelFormatException(source, null, "visual.conv1.weight", $"expected square patches, found {Tensors.Shapes.Format(conv)}");
        }
        var visionWidth = conv[0];
        var patch = conv[2];
        var pos = Need("visual.positional_embedding", -1, visionWidth);
        var grid = (int)Math.Round(Math.Sqrt(pos[0] - 1));
        if (grid * grid + 1 != pos[0])
        {
            throw new WeightsConverter.ModelFormatException(source, null, "visual.positional_embedding", $"expected 1 + grid^2 rows, found {pos[0]}");
        }
        var visionLayers = Count("visual.transformer.resblocks");
        var embed = Need("visual.proj", visionWidth, -1)[1];
        var textWidth = Need("ln_final.weight", -1)[0];
        var context = Need("positional_embedding", -1, textWidth)[0];
        var vocab = Need("token_embedding.weight", -1, textWidth)[0];
        var textLayers = Count("transformer.resblocks");
        Need("text_projection", textWidth, embed);
        if (visionLayers == 0 || textLayers == 0)
        {
            throw new WeightsConverter.ModelFormatException(source, null, visionLayers == 0 ? "visual.transformer.resblocks.0.ln_1.weight" : "transformer.resblocks.0.ln_1.weight", "no transformer blocks found");
        }
        return new ClipConfig(visionWidth, visionLayers, Math.Max(1, visionWidth / 64), patch, grid, embed,
            textWidth, textLayers, Math.Max(1, textWidth / 64), context, vocab);
    }
}
