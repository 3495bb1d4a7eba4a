// Every CLIP weight format users have (torch.save, TorchScript, safetensors, Hugging Face) gives the same model outputs.
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using Xunit;

namespace VcpNative.Tests.Models;

/// <summary>
/// The golden test pins the model on the torch.save file; the weight-reader tests pin each format's tensors to
/// values numpy wrote. Here the whole model runs on each format of one tiny CLIP (tools/golden/make_weight_fixtures.py)
/// and must produce bit-identical outputs within each precision.
/// </summary>
public class ClipFormatEquivalenceTests
{
    [Theory]
    [InlineData("clip_tiny_f32.pt", "clip_tiny_f32.safetensors")]
    [InlineData("clip_tiny_f32.pt", "clip_tiny_hf_f32.safetensors")]
    [InlineData("clip_tiny_f16.pt", "clip_tiny_torchscript.pt")]
    public void FormatsGiveIdenticalOutputs(string reference, string other)
    {
        var (imageA, textA) = Outputs(reference);
        var (imageB, textB) = Outputs(other);
        Assert.Equal(imageA, imageB);
        Assert.Equal(textA, textB);
    }

    private static (float[] Image, float[] Text) Outputs(string file)
    {
        using var clip = ClipModel.Load(Fixtures.Path("weights", file), ClipActivation.QuickGelu, PositionResizeMode.Bilinear);
        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        var images = VcpNative.Tests.Tensors.TestTensors.Uniform([1, 3, 8, 8], 5);
        var vision = clip.Vision.Forward(images, [1]);
        var image = clip.Vision.GlobalEmbedding(vision.FinalTokens, applyLnPost: true).ToArray();
        var tokens = new[] { new[] { 1, 2, 3, clip.Config.VocabSize - 1, 0 } };
        var text = clip.Text.Encode(tokens).ToArray();
        Assert.All(image, v => Assert.True(float.IsFinite(v)));
        return (image, text);
    }
}
