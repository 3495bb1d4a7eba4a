// Every registered method keeps the promises of IAnomalyMethod: its random heads load, run and are recognised as its own.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Models;
using VcpNative.Tensors;
using VcpNative.WeightsConverter.Quantization;
using Xunit;

namespace VcpNative.Tests.Anomaly.Methods;

public class AnomalyMethodsTests
{
    public static TheoryData<string> Names() => [.. AnomalyMethods.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void RandomTinyModelRunsWithTheMethodsNormalisationAndFlops(string name)
    {
        var method = AnomalyMethods.ByName(name, "test");
        using var model = method.Random(ModelArchitecture.Tiny, 3, 56, null, LinearWeightFormat.F32);
        Assert.Equal(name, model.Method);
        Assert.Equal(method.Normalisation, model.Inference.Normalisation);
        using var scope = new TensorScope();
        var result = model.Inference.Run(VcpNative.Tests.Tensors.TestTensors.Uniform([1, 3, 56, 56], 9))[0];
        Assert.All(result.Map, v => Assert.True(float.IsFinite(v)));
        Assert.True(float.IsFinite(result.Score));
        var flops = method.FlopCount(model, 56);
        Assert.True(flops.Vision > 0 && flops.TextAndHeads > 0);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void RandomHeadsHaveTheRequiredKeysAndAreDetectedByTheirNames(string name)
    {
        var method = AnomalyMethods.ByName(name, "test");
        using var temp = new TempDirectory("methods");
        var path = Path.Combine(temp.Path, "heads.safetensors");
        using (var heads = method.RandomHeads(ModelArchitecture.Tiny, 5, null))
        {
            Assert.All(method.RequiredKeys, key => Assert.Contains(key, heads.Names));
            heads.Save(path); // no metadata: detection falls back to the tensor names
        }
        Assert.Equal(name, AnomalyModelLoader.DetectMethod(path));
    }

    [Fact]
    public void CompareHeadingStatesEachMethodsNormalisationAsBefore()
    {
        var md = VcpNative.Anomaly.Evaluation.ComparisonReport.Markdown([], false, [.. AnomalyMethods.All.Select(m => (m.Title, m.Normalisation))]);
        Assert.StartsWith("Mean over classes (x100). Maps: VCP-CLIP min-max per class, ViP2-CLIP raw (each as its authors evaluate).\n\n", md);
    }
}
