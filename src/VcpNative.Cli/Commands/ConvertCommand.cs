// `vcp-native convert clip|vcp|vip2`: turn downloaded checkpoints into one canonical safetensors file.
using System.CommandLine;
using System.Text.Json;
using VcpNative.Models.Clip;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Clip;
using VcpNative.WeightsConverter.Quantization;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Cli.Commands;

/// <summary>Canonical weight files: CLIP with OpenAI key names and its config in the metadata; VCP-CLIP / ViP2-CLIP heads verbatim.</summary>
public static class ConvertCommand
{
    /// <summary>Keys every VCP-CLIP head file has (method-spec 2.8); a file without them is not a VCP checkpoint.</summary>
    public static readonly string[] VcpRequiredKeys =
    [
        "trainable_linearlayer.fc.0.weight", "New_Lan_Embed.prompt_query", "New_Lan_Embed.prompt_linear1.fc.weight",
        "Zero_try.q_proj_pre.weight", "prompt_embeddings", "deep_prompt_embeddings", "prompt_proj.weight", "prompt_norm.weight",
    ];

    /// <summary>Keys every ViP2-CLIP checkpoint has (method-spec 3.7: ICA parameters and buffers, FGP).</summary>
    public static readonly string[] Vip2RequiredKeys =
    [
        "prompt_learner.ctx_pos", "prompt_learner.ctx_neg", "prompt_learner.cls_ctx", "prompt_learner.cls_prompter.bias",
        "prompt_learner.cls_prompter.fc.0.0.weight", "prompt_learner.token_prefix_pos", "prompt_learner.token_middle_pos",
        "prompt_learner.token_suffix_pos", "prompt_learner.token_prefix_neg", "prompt_learner.token_middle_neg",
        "prompt_learner.token_suffix_neg", "prompt_learner.tokenized_prompts_pos", "prompt_learner.tokenized_prompts_neg",
        "Zero_try.q_proj_pre.weight", "Zero_try.k_proj_pre_1.weight", "Zero_try.v_proj_pre_1.weight", "Zero_try.proj_post_t.weight",
    ];

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
        command.Add(HeadsVerb("vcp", "VCP-CLIP", VcpRequiredKeys));
        command.Add(HeadsVerb("vip2", "ViP2-CLIP", Vip2RequiredKeys));
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
        var config = ClipConfig.Infer(name => weights.TryGet(name, out var t) ? Array.ConvertAll(t.Shape, d => (int)d) : null, src);
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
    private static Command HeadsVerb(string name, string title, string[] requiredKeys) => ConversionVerb(
        name, $"Write {title} heads with the authors' keys flattened with '.'",
        $"The authors' {title} checkpoint (.pth), or a vcp-native head file",
        (src, dst, _) =>
        {
            using var weights = WeightLoader.LoadVerbatim(src);
            foreach (var key in requiredKeys)
            {
                if (!weights.Contains(key))
                {
                    throw new ModelFormatException(src, null, key, $"missing tensor: not a {title} checkpoint");
                }
            }
            var metadata = new Dictionary<string, string> { ["format"] = "vcp-native/heads", ["method"] = name, ["source"] = Path.GetFileName(src) };
            SafetensorsWriter.Write(dst, weights, metadata);
            return $"wrote {dst}: {weights.Count} tensors ({title} heads)";
        });
}

/// <summary>ClipConfig as the "config" metadata entry (default property names), source-generated for NativeAOT.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(ClipConfig))]
internal sealed partial class ClipConfigJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
