// `vcp-native convert clip|<method>`: turn downloaded checkpoints into one canonical safetensors file.
using System.CommandLine;
using System.Text.Json;
using VcpNative.Anomaly.Methods;
using VcpNative.Models.Clip;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Clip;
using VcpNative.WeightsConverter.Quantization;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Cli.Commands;

/// <summary>Canonical weight files: CLIP with OpenAI key names and its config in the metadata; VCP-CLIP / ViP2-CLIP heads verbatim.</summary>
public static class ConvertCommand
{
    public static Command Create()
    {
        var command = new Command("convert", "Convert downloaded weights to vcp-native's safetensors files");
        var weightsFormat = WeightsFormatOption.Create(
            "Storage of the transformer blocks' linear weights (bf16: rounded to nearest even; int8: per-output-channel symmetric with <name>.int8_scale)");
        var clip = ConversionVerb(
            "clip", "Write one canonical CLIP file (OpenAI key names, config in the metadata)",
            "OpenAI .pt (TorchScript), torch.save state dict, safetensors or Hugging Face CLIP safetensors",
            (src, dst, parse) => ConvertClip(src, dst, WeightsFormatOption.Parse(parse.GetValue(weightsFormat))));
        clip.Add(weightsFormat);
        command.Add(clip);
        foreach (var method in AnomalyMethods.All)
        {
            command.Add(HeadsVerb(method));
        }
        return command;
    }

    /// <summary>A sub-verb taking one source file and a required --output; <paramref name="convert"/>(source, output, parse) writes the file and returns the line to print.</summary>
    private static Command ConversionVerb(string name, string description, string sourceDescription, Func<string, string, ParseResult, string> convert)
    {
        var source = new Argument<string>("source") { Description = sourceDescription };
        var output = new Option<string>("--output", "-o") { Description = "Output .safetensors file", Required = true };
        var command = new Command(name, description) { source, output };
        command.SetAction(parse =>
        {
            var summary = convert(parse.GetValue(source)!, parse.GetValue(output)!, parse);
            parse.InvocationConfiguration.Output.WriteLine(summary);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// OpenAI-named CLIP; with bf16 / int8 the blocks' linear weights are re-encoded (metadata weight_format names the
    /// format, int8 adds &lt;weight&gt;.int8_scale F32 [N]); every other tensor is written as read.
    /// </summary>
    private static string ConvertClip(string src, string dst, LinearWeightFormat format)
    {
        using var weights = WeightLoader.Load(src);
        var config = ClipConfig.Infer(weights);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "vcp-native/clip",
            ["source"] = Path.GetFileName(src),
            ["config"] = JsonSerializer.Serialize(config, ClipConfigJsonContext.Default.ClipConfig),
        };
        using var encoded = WeightSetCompression.Compress(weights, format, ClipWeightNames.IsBlockLinearWeight, metadata);
        SafetensorsWriter.Write(dst, encoded);
        return $"wrote {dst}: {encoded.Count} tensors ({LinearWeightFormats.Name(format)} linear weights), vision {config.VisionWidth}x{config.VisionLayers} patch {config.PatchSize} grid {config.NativeGrid}, text {config.TextWidth}x{config.TextLayers}, embed {config.EmbedDim}";
    }

    /// <summary>Heads verbatim (keys flattened with '.', dtypes kept: the ViP2 token-id buffers stay integers), metadata method=name.</summary>
    private static Command HeadsVerb(IAnomalyMethod method) => ConversionVerb(
        method.Name, $"Write {method.Title} heads with the authors' keys flattened with '.'",
        $"The authors' {method.Title} checkpoint (.pth), or a vcp-native head file",
        (src, dst, _) =>
        {
            using var weights = WeightLoader.LoadVerbatim(src);
            foreach (var key in method.RequiredKeys)
            {
                if (!weights.Contains(key))
                {
                    throw new ModelFormatException(src, null, key, $"missing tensor: not a {method.Title} checkpoint");
                }
            }
            var metadata = new Dictionary<string, string> { ["format"] = "vcp-native/heads", ["method"] = method.Name, ["source"] = Path.GetFileName(src) };
            SafetensorsWriter.Write(dst, weights, metadata);
            return $"wrote {dst}: {weights.Count} tensors ({method.Title} heads)";
        });
}

/// <summary>ClipConfig as the "config" metadata entry (default property names), source-generated for NativeAOT.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(ClipConfig))]
internal sealed partial class ClipConfigJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
