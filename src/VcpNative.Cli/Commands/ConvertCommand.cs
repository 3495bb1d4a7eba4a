// `vcp-native convert clip|vcp`: turn downloaded checkpoints into one canonical safetensors file.
using System.CommandLine;
using System.Text.Json;
using VcpNative.Models.Clip;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Cli.Commands;

/// <summary>Canonical weight files: CLIP with OpenAI key names and its config in the metadata; VCP heads verbatim.</summary>
public static class ConvertCommand
{
    /// <summary>Keys every VCP-CLIP head file has (method-spec 2.8); a file without them is not a VCP checkpoint.</summary>
    public static readonly string[] VcpRequiredKeys =
    [
        "trainable_linearlayer.fc.0.weight", "New_Lan_Embed.prompt_query", "New_Lan_Embed.prompt_linear1.fc.weight",
        "Zero_try.q_proj_pre.weight", "prompt_embeddings", "deep_prompt_embeddings", "prompt_proj.weight", "prompt_norm.weight",
    ];

    public static Command Create()
    {
        var command = new Command("convert", "Convert downloaded weights to vcp-native's safetensors files");
        command.Add(Clip());
        command.Add(Vcp());
        return command;
    }

    private static Command Clip()
    {
        var source = new Argument<string>("source") { Description = "OpenAI .pt (TorchScript), torch.save state dict, safetensors or Hugging Face CLIP safetensors" };
        var output = new Option<string>("--output", "-o") { Description = "Output .safetensors file", Required = true };
        var command = new Command("clip", "Write one canonical CLIP file (OpenAI key names, config in the metadata)") { source, output };
        command.SetAction(parse =>
        {
            var src = parse.GetValue(source)!;
            var dst = parse.GetValue(output)!;
            using var weights = WeightLoader.Load(src);
            var config = ClipConfig.Infer(name => weights.TryGet(name, out var t) ? Array.ConvertAll(t.Shape, d => (int)d) : null, src);
            var metadata = new Dictionary<string, string>
            {
                ["format"] = "vcp-native/clip",
                ["source"] = Path.GetFileName(src),
                ["config"] = JsonSerializer.Serialize(config),
            };
            SafetensorsWriter.Write(dst, weights, metadata);
            parse.InvocationConfiguration.Output.WriteLine($"wrote {dst}: {weights.Count} tensors, vision {config.VisionWidth}x{config.VisionLayers} patch {config.PatchSize} grid {config.NativeGrid}, text {config.TextWidth}x{config.TextLayers}, embed {config.EmbedDim}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Vcp()
    {
        var source = new Argument<string>("source") { Description = "The authors' VCP-CLIP checkpoint (.pth), or a vcp-native head file" };
        var output = new Option<string>("--output", "-o") { Description = "Output .safetensors file", Required = true };
        var command = new Command("vcp", "Write VCP-CLIP heads with the authors' keys flattened with '.'") { source, output };
        command.SetAction(parse =>
        {
            var src = parse.GetValue(source)!;
            var dst = parse.GetValue(output)!;
            using var weights = WeightLoader.LoadVerbatim(src);
            foreach (var key in VcpRequiredKeys)
            {
                if (!weights.Contains(key))
                {
                    throw new ModelFormatException(src, null, key, "missing tensor: not a VCP-CLIP checkpoint");
                }
            }
            var metadata = new Dictionary<string, string> { ["format"] = "vcp-native/heads", ["method"] = "vcp", ["source"] = Path.GetFileName(src) };
            SafetensorsWriter.Write(dst, weights, metadata);
            parse.InvocationConfiguration.Output.WriteLine($"wrote {dst}: {weights.Count} tensors (VCP-CLIP heads)");
            return ExitCodes.Ok;
        });
        return command;
    }
}
