// Every CLIP-shaped fixture format (torch.save fp32/fp16, safetensors, HF safetensors, TorchScript) read against numpy's values.
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.WeightsConverter;

public class ClipWeightFileTests
{
    [Theory]
    [InlineData("clip_tiny_f32.pt", "clip_tiny_f32_expected", WeightFileFormat.TorchSave, WeightDType.F32)]
    [InlineData("clip_tiny_f16.pt", "clip_tiny_f16_expected", WeightFileFormat.TorchSave, WeightDType.F16)]
    [InlineData("clip_tiny_f32.safetensors", "clip_tiny_f32_expected", WeightFileFormat.Safetensors, WeightDType.F32)]
    [InlineData("clip_tiny_hf_f32.safetensors", "clip_tiny_f32_expected", WeightFileFormat.Safetensors, WeightDType.F32)]
    [InlineData("clip_tiny_torchscript.pt", "clip_tiny_f16_expected", WeightFileFormat.TorchScript, WeightDType.F16)]
    public void LoadGivesOpenAiNamesAndExactValues(string file, string expectedStem, WeightFileFormat format, WeightDType dtype)
    {
        var expected = WeightFixtures.ReadExpected(expectedStem);
        using var set = WeightLoader.Load(WeightFixtures.PathOf(file));

        Assert.Equal(format, set.Format);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), set.Names.Order(StringComparer.Ordinal));
        foreach (var (name, (shape, values)) in expected)
        {
            var t = set[name];
            Assert.Equal(dtype, t.DType);
            Assert.Equal(shape, t.Shape);
            // Exact: fp16 -> fp32 widening is exact and fp32 is copied, so any difference is a reader bug.
            var actual = t.ToFloat32();
            for (var i = 0; i < values.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(values[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"{file} {name}[{i}]: expected {values[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void HuggingFaceNamesAreMappedOnlyByLoad()
    {
        using var verbatim = WeightLoader.LoadVerbatim(WeightFixtures.PathOf("clip_tiny_hf_f32.safetensors"));
        Assert.True(verbatim.Contains("vision_model.encoder.layers.1.self_attn.k_proj.weight"));
        Assert.True(verbatim.Contains("text_model.embeddings.position_ids"));
        Assert.Equal([6L, 8L], verbatim["visual_projection.weight"].Shape);

        using var mapped = WeightLoader.Load(WeightFixtures.PathOf("clip_tiny_hf_f32.safetensors"));
        Assert.Equal([24L, 8L], mapped["visual.transformer.resblocks.1.attn.in_proj_weight"].Shape);
        Assert.Equal([8L, 6L], mapped["visual.proj"].Shape);
        // The transposed projection is a strided view, not a copy, until it is read.
        Assert.False(mapped["visual.proj"].IsContiguous);
        Assert.DoesNotContain(mapped.Names, n => n.Contains("position_ids", StringComparison.Ordinal));
    }

    [Fact]
    public void TorchScriptTreeKeepsModuleClassNames()
    {
        using var set = WeightLoader.LoadVerbatim(WeightFixtures.PathOf("clip_tiny_torchscript.pt"));
        var root = Assert.IsType<VcpNative.WeightsConverter.Pickle.PickleObject>(set.Tree);
        Assert.Equal("__torch__.TinyClip", root.ClassName);
        // Module flags such as `training` are attributes, not weights or metadata.
        Assert.Empty(set.Metadata);
    }
}
