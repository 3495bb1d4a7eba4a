// Golden test of VCP-CLIP inference end to end (PNG -> maps, score) against tools/golden/make_vcp_fixtures.py.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using Xunit;

namespace VcpNative.Tests.Anomaly.Inference;

public class VcpGoldenTests
{
    [Fact]
    public void InferenceAt518MatchesAuthorsPipelineInPyTorch()
    {
        using var expected = Fixtures.Expected("vcp", "expected.safetensors");
        // CLIP in OpenAI's fp16 torch.save format at its native 24x24 grid; heads in the authors' nested .pth.
        using var model = VcpModel.Load(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth"));
        Assert.Equal(2, model.Heads.R);
        Assert.Equal(1, model.Heads.N);
        Assert.Equal(1, model.Heads.DeepLayers);
        Assert.Equal(4, model.Heads.FeatureLayers);
        var image = ImageDecoder.DecodeRgb(Fixtures.Path("vcp", "input.png"));
        var input = Tensor.FromArray(ClipPreprocess.ToTensorData(image, 518), [1, 3, 518, 518]);

        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        var heads = model.Heads;
        var vision = model.Clip.Vision.Forward(input, heads.DefaultBlocks());
        var global = model.Clip.Vision.GlobalEmbedding(vision.FinalTokens, applyLnPost: true);
        VcpNative.Tests.Models.ClipGoldenTests.Compare(expected, "global", global);
        var z = heads.PreVcp(global);
        VcpNative.Tests.Models.ClipGoldenTests.Compare(expected, "z", z);
        var text = heads.EncodePrompts(model.Clip.Text, z);
        VcpNative.Tests.Models.ClipGoldenTests.Compare(expected, "text", text);

        var result = new VcpInference(model, 518).Run(input)[0];
        // Maps and score within 1e-4 (the bound): fp32 vs fp32 with different summation orders.
        var want = Array.ConvertAll(expected["final"].ToFloat32(), v => (double)v);
        VcpNative.Tests.Tensors.GradientCheck.AssertClose(want, result.Map, 1e-4, 0, "final map");
        Assert.InRange(Math.Abs(result.Score - expected["score"].ToFloat32()[0]), 0, 1e-4);
    }
}
