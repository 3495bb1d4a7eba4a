// Golden test of ViP2-CLIP inference end to end (PNG -> text features, cosines, image logits, map, score) against
// tools/golden/make_vip2_fixtures.py (the authors' ICA/FGP/UTPA in PyTorch on the tiny QuickGELU CLIP).
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Anomaly.Inference;

public class Vip2GoldenTests
{
    private const int Size = 518;

    private readonly ITestOutputHelper output;

    public Vip2GoldenTests(ITestOutputHelper output) => this.output = output;

    [Fact]
    public void InferenceAt518MatchesAuthorsPipelineInPyTorch()
    {
        using var expected = Fixtures.Expected("vip2", "expected.safetensors");
        // CLIP in OpenAI's fp16 torch.save format (native 24x24 grid, bilinear resize to 37x37); heads in the authors' .pth.
        using var model = Vip2Model.Load(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vip2", "vip2_head.pth"));
        Assert.Equal(5, model.Heads.E);            // the fixture uses e = 5, r = 2 (not the authors' 7 / 3): read from weights
        Assert.Equal(2, model.Heads.R);
        Assert.Equal(32, model.Heads.MetaHidden);
        Assert.Equal([1, 2, 3, 4], model.Heads.DefaultBlocks());
        var image = ImageDecoder.DecodeRgb(Fixtures.Path("vcp", "input.png"));
        var input = Tensor.FromArray(ClipPreprocess.ToTensorData(image, Size), [1, 3, Size, Size]);

        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        using var features = model.ComputeFeatures(input);
        VcpNative.Tests.Models.ClipGoldenTests.Compare(expected, "global", features.Global);
        var text = model.Heads.EncodePrompts(model.Clip.Text, features.Global);
        VcpNative.Tests.Models.ClipGoldenTests.Compare(expected, "text", text);
        using var outputs = model.Heads.Forward(features.BlockOutputs, text, Size);
        // m / 0.07 amplifies cosine differences 14x: 1e-4 absolute on the logits is 7e-6 on the cosines.
        GradientCheckAssert(expected, "logits", outputs.ImageLogits, 1e-4);

        var result = new Vip2Inference(model, Size).Run(input)[0];
        var stride = int.Parse(expected.Metadata["map_stride"], System.Globalization.CultureInfo.InvariantCulture);
        var want = expected["final_strided"].ToFloat32();
        var side = (Size + stride - 1) / stride;
        Assert.Equal(side * side, want.Length);
        var got = new float[want.Length];
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                got[y * side + x] = result.Map[y * stride * Size + x * stride];
            }
        }
        var worstMap = 0.0;
        for (var i = 0; i < want.Length; i++)
        {
            worstMap = Math.Max(worstMap, Math.Abs((double)want[i] - got[i]));
        }
        output.WriteLine($"max |map - ref| {worstMap:G3} over {want.Length} pixels; |score - ref| {Math.Abs(result.Score - expected["score"].ToFloat32()[0]):G3}");
        // Maps and score within 1e-4 (the issue's bound): fp32 on both sides, different summation orders.
        VcpNative.Tests.Tensors.GradientCheck.AssertClose(Array.ConvertAll(want, v => (double)v), got, 1e-4, 0, "final map (every 3rd pixel)");
        Assert.InRange(Math.Abs(result.Score - expected["score"].ToFloat32()[0]), 0, 1e-4);
        // The map is not normalised per class: its values are the raw probabilities near 0.5 (range ~0.38..0.60 here).
        Assert.InRange(result.Map.Min(), 0.3f, 0.5f);
    }

    private static void GradientCheckAssert(VcpNative.WeightsConverter.WeightSet expected, string name, Tensor actual, double atol)
    {
        var want = Array.ConvertAll(expected[name].ToFloat32(), v => (double)v);
        VcpNative.Tests.Tensors.GradientCheck.AssertClose(want, actual.ToArray(), atol, 0, name);
    }
}
