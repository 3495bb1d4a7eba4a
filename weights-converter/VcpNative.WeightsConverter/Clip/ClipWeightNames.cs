// Recognises which naming convention a CLIP weight set uses (OpenAI's state_dict names are our canonical ones).
namespace VcpNative.WeightsConverter.Clip;

public static class ClipWeightNames
{
    public const string OpenAiVisionPatchEmbedding = "visual.conv1.weight";
    public const string OpenAiTokenEmbedding = "token_embedding.weight";
    public const string HuggingFaceVisionPatchEmbedding = "vision_model.embeddings.patch_embedding.weight";
    public const string HuggingFaceTokenEmbedding = "text_model.embeddings.token_embedding.weight";

    public static bool IsOpenAiClip(WeightSet set) => set.Contains(OpenAiVisionPatchEmbedding) || set.Contains(OpenAiTokenEmbedding);

    public static bool IsHuggingFaceClip(WeightSet set) => set.Contains(HuggingFaceVisionPatchEmbedding) || set.Contains(HuggingFaceTokenEmbedding);

    /// <summary>Weight-matrix suffixes of a residual block's four linear layers (OpenAI names).</summary>
    private static readonly string[] BlockLinearWeightSuffixes =
        [".attn.in_proj_weight", ".attn.out_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"];

    /// <summary>
    /// True for the weight matrices of the transformer blocks' linear layers (attention in/out projections, MLP c_fc and
    /// c_proj) of either tower: the tensors `convert --weights-format bf16|int8` compresses (~90% of ViT-L's weights).
    /// </summary>
    public static bool IsBlockLinearWeight(string name)
    {
        if (!name.Contains(".resblocks.", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var suffix in BlockLinearWeightSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }
}
