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
}
