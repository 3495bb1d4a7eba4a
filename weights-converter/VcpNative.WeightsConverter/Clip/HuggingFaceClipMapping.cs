// Maps Hugging Face CLIPModel tensor names to OpenAI CLIP names: q/k/v joined into in_proj, projections transposed.
using System.Text.RegularExpressions;

namespace VcpNative.WeightsConverter.Clip;

public static partial class HuggingFaceClipMapping
{
    private static readonly Dictionary<string, string> FixedNames = new(StringComparer.Ordinal)
    {
        ["vision_model.embeddings.class_embedding"] = "visual.class_embedding",
        ["vision_model.embeddings.patch_embedding.weight"] = "visual.conv1.weight",
        ["vision_model.embeddings.position_embedding.weight"] = "visual.positional_embedding",
        ["vision_model.pre_layrnorm.weight"] = "visual.ln_pre.weight",
        ["vision_model.pre_layrnorm.bias"] = "visual.ln_pre.bias",
        ["vision_model.post_layernorm.weight"] = "visual.ln_post.weight",
        ["vision_model.post_layernorm.bias"] = "visual.ln_post.bias",
        ["text_model.embeddings.token_embedding.weight"] = "token_embedding.weight",
        ["text_model.embeddings.position_embedding.weight"] = "positional_embedding",
        ["text_model.final_layer_norm.weight"] = "ln_final.weight",
        ["text_model.final_layer_norm.bias"] = "ln_final.bias",
        ["logit_scale"] = "logit_scale",
    };

    /// <summary>HF stores Linear weights [out, in]; OpenAI's projections are plain matrices [in, out].</summary>
    private static readonly Dictionary<string, string> TransposedNames = new(StringComparer.Ordinal)
    {
        ["visual_projection.weight"] = "visual.proj",
        ["text_projection.weight"] = "text_projection",
    };

    private static readonly Dictionary<string, string> LayerParts = new(StringComparer.Ordinal)
    {
        ["self_attn.out_proj"] = "attn.out_proj",
        ["layer_norm1"] = "ln_1",
        ["layer_norm2"] = "ln_2",
        ["mlp.fc1"] = "mlp.c_fc",
        ["mlp.fc2"] = "mlp.c_proj",
    };

    [GeneratedRegex(@"^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex LayerName();

    /// <summary>
    /// A new set with OpenAI names over the same storages (only in_proj is copied, by concatenation).
    /// Position-id buffers are dropped; names outside CLIP are kept verbatim. The result shares the input's file mapping.
    /// </summary>
    public static WeightSet ToOpenAi(WeightSet hf)
    {
        var output = new List<WeightTensor>(hf.Count);
        // in_proj tensors are assembled once all of q, k, v are seen; the slot keeps q's position in the order.
        var pending = new Dictionary<string, (int Slot, WeightTensor?[] Parts)>(StringComparer.Ordinal);
        foreach (var t in hf.Tensors)
        {
            var name = t.Name;
            if (name.EndsWith("position_ids", StringComparison.Ordinal)) continue;
            if (FixedNames.TryGetValue(name, out var fixedName))
            {
                output.Add(t.WithName(fixedName));
                continue;
            }
            if (TransposedNames.TryGetValue(name, out var transposedName))
            {
                output.Add(t.Transposed2D(transposedName));
                continue;
            }
            var m = LayerName().Match(name);
            if (!m.Success)
            {
                output.Add(t);
                continue;
            }
            var block = (m.Groups[1].Value == "vision_model" ? "visual.transformer.resblocks." : "transformer.resblocks.") + m.Groups[2].Value + ".";
            var part = m.Groups[3].Value;
            var kind = m.Groups[4].Value;
            var qkv = part switch { "self_attn.q_proj" => 0, "self_attn.k_proj" => 1, "self_attn.v_proj" => 2, _ => -1 };
            if (qkv >= 0)
            {
                var target = block + "attn.in_proj_" + kind;
                if (!pending.TryGetValue(target, out var entry))
                {
                    entry = (output.Count, new WeightTensor?[3]);
                    output.Add(null!);
                    pending[target] = entry;
                }
                entry.Parts[qkv] = t;
                continue;
            }
            output.Add(LayerParts.TryGetValue(part, out var openAiPart) ? t.WithName(block + openAiPart + "." + kind) : t);
        }
        foreach (var (target, (slot, parts)) in pending) output[slot] = Concatenate(hf.SourcePath, target, parts);
        return hf.Derive(output);
    }

    private static WeightTensor Concatenate(string file, string name, WeightTensor?[] parts)
    {
        for (var i = 0; i < 3; i++)
            if (parts[i] is null) throw new ModelFormatException(file, null, name, $"missing the {"qkv"[i]}_proj part needed to build it");
        var first = parts[0]!;
        long rows = 0;
        foreach (var p in parts)
        {
            if (p!.DType != first.DType || p.Shape.Length != first.Shape.Length || !p.Shape.AsSpan(1).SequenceEqual(first.Shape.AsSpan(1)))
                throw new ModelFormatException(file, null, p.Name, $"q/k/v parts disagree: {p} vs {first}");
            rows += p.Shape[0];
        }
        var bytes = new byte[parts[0]!.ByteLength + parts[1]!.ByteLength + parts[2]!.ByteLength];
        var offset = 0;
        foreach (var p in parts)
        {
            p!.RawBytes.CopyTo(bytes.AsSpan(offset));
            offset += (int)p.ByteLength;
        }
        var shape = (long[])first.Shape.Clone();
        shape[0] = rows;
        return WeightTensor.FromBytes(name, first.DType, shape, bytes);
    }
}
