// Random models in bf16 / int8 (bench --weights-format): the same values as f32, encoded; bench reports size and map difference.
using System.Text.Json;
using VcpNative.Cli;
using VcpNative.Models;
using VcpNative.Tensors;
using VcpNative.WeightsConverter.Quantization;
using Xunit;

namespace VcpNative.Tests.WeightFormats;

public class RandomWeightFormatTests
{
    [Fact]
    public void RowWiseGeneratedWeightsAreTheF32ValuesEncoded()
    {
        using var f32 = RandomWeights.Clip(ModelArchitecture.Tiny, 3);
        using var bf16 = RandomWeights.Clip(ModelArchitecture.Tiny, 3, format: LinearWeightFormat.BF16);
        using var int8 = RandomWeights.Clip(ModelArchitecture.Tiny, 3, format: LinearWeightFormat.Int8);
        const string name = "transformer.resblocks.1.mlp.c_proj.weight";
        var values = f32.Get(name).ToArray();
        var bits = bf16.Get(name).AsSpanOf<ushort>();
        var expectedBits = new ushort[values.Length];
        WeightQuantization.ToBFloat16(values, expectedBits);
        Assert.True(bits.SequenceEqual(expectedBits));
        var q = int8.Get(name);
        var cols = q.Shape[1];
        var expectedQ = new sbyte[values.Length];
        for (var r = 0; r < q.Shape[0]; r++)
        {
            var scale = WeightQuantization.QuantizeInt8Row(values.AsSpan(r * cols, cols), expectedQ.AsSpan(r * cols, cols));
            Assert.Equal(scale, q.ChannelScales!.ToArray()[r]);
        }
        Assert.True(q.AsSpanOf<sbyte>().SequenceEqual(expectedQ));
        // Non-linear tensors are untouched.
        Assert.Equal(f32.Get("positional_embedding").ToArray(), int8.Get("positional_embedding").ToArray());
        Assert.Equal(DType.F32, int8.Get("text_projection").DType);
    }

    [Fact]
    public void BenchReportsWeightSizeAndDifferenceToF32()
    {
        double WeightMb(string format, out JsonElement root)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = CliApp.Run(["bench", "--random-weights", "--arch", "tiny", "--image-size", "56", "--iterations", "1", "--warmup", "0",
                "--json", "--weights-format", format, "--compare-f32"], stdout, stderr);
            Assert.True(code == ExitCodes.Ok, stderr.ToString());
            root = JsonDocument.Parse(stdout.ToString()).RootElement.Clone();
            Assert.Equal(format, root.GetProperty("weights_format").GetString());
            return root.GetProperty("clip_weight_mb").GetDouble();
        }
        var f32 = WeightMb("f32", out var f32Root);
        // The f32 model against itself: bit-identical runs.
        Assert.Equal(0, f32Root.GetProperty("map_max_abs_diff_vs_f32").GetDouble());
        var bf16 = WeightMb("bf16", out var bf16Root);
        var int8 = WeightMb("int8", out var int8Root);
        Assert.True(int8 < bf16 && bf16 < f32, $"{f32} {bf16} {int8}");
        foreach (var root in new[] { bf16Root, int8Root })
        {
            var map = root.GetProperty("map_max_abs_diff_vs_f32").GetDouble();
            // Re-encoded weights change the maps a little (> 0) but not much: the maps are probabilities.
            Assert.InRange(map, 1e-9, 1e-2);
            Assert.InRange(root.GetProperty("score_max_abs_diff_vs_f32").GetDouble(), 0, 2e-2);
        }
    }

    [Fact]
    public void BenchRefusesAWeightsFormatForWeightFiles()
    {
        var stderr = new StringWriter();
        var code = CliApp.Run(["bench", "--clip", "a.safetensors", "--head", "b.safetensors", "--weights-format", "int8"], new StringWriter(), stderr);
        Assert.NotEqual(ExitCodes.Ok, code);
        Assert.Contains("--weights-format", stderr.ToString());
    }
}
