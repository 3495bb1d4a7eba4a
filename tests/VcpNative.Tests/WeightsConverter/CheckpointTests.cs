// A VCP-like nested torch.save checkpoint (all dtypes, strided views, shared storage, scalars) and its safetensors twin.
using System.Globalization;
using System.Text.Json;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Pickle;
using Xunit;

namespace VcpNative.Tests.WeightsConverter;

public class CheckpointTests
{
    private sealed record Expected(WeightDType DType, long[] Shape, double[] Values, bool IsContiguous, long StorageOffset, long[] Stride);

    /// <summary>mixed_expected.json, written from torch's own view of each tensor by make_weight_fixtures.py.</summary>
    private static Dictionary<string, Expected> ReadMixedExpected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(WeightFixtures.PathOf("mixed_expected.json")));
        var result = new Dictionary<string, Expected>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var v = p.Value;
            Assert.True(WeightDTypeInfo.TryParseSafetensorsName(v.GetProperty("dtype").GetString()!, out var dtype));
            var values = v.GetProperty("values").EnumerateArray()
                .Select(e => e.ValueKind == JsonValueKind.String ? ParseNonFinite(e.GetString()!) : e.GetDouble())
                .ToArray();
            result[p.Name] = new Expected(dtype, v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(), values,
                v.GetProperty("is_contiguous").GetBoolean(), v.GetProperty("storage_offset").GetInt64(),
                v.GetProperty("stride").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        }
        return result;
    }

    /// <summary>The script writes Python's repr of non-finite floats ('inf', '-inf', 'nan').</summary>
    private static double ParseNonFinite(string text) => text switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" => double.NaN,
        _ => throw new FormatException($"unexpected value '{text}' in mixed_expected.json"),
    };

    private static void AssertMatches(WeightSet set, Dictionary<string, Expected> expected, bool checkLayout)
    {
        Assert.Equal(expected.Keys, set.Names);
        foreach (var (name, e) in expected)
        {
            var t = set[name];
            Assert.Equal(e.DType, t.DType);
            Assert.Equal(e.Shape, t.Shape);
            if (checkLayout)
            {
                Assert.Equal(e.IsContiguous, t.IsContiguous);
                Assert.Equal(e.StorageOffset, t.StorageOffset);
                Assert.Equal(e.Stride, t.Strides);
            }
            var floats = t.ToFloat32();
            for (var i = 0; i < e.Values.Length; i++)
            {
                // Exact: every fixture value is representable in float32 after its own dtype's rounding
                // (f16/bf16 widen exactly; the f64 and i64 values are compared after the same float cast Python's value gets).
                Assert.True((float)e.Values[i] == floats[i] || (float.IsNaN(floats[i]) && double.IsNaN(e.Values[i])), $"{name}[{i}]: expected {e.Values[i]}, got {floats[i]}");
            }
            if (!WeightDTypeInfo.IsFloatingPoint(t.DType))
                Assert.Equal(e.Values.Select(x => (long)x), t.ToInt64());
        }
    }

    [Fact]
    public void TorchSaveCheckpointFlattensNestedDictsAndMaterialisesViews()
    {
        using var set = WeightLoader.Load(WeightFixtures.PathOf("mixed.pt"));
        Assert.Equal(WeightFileFormat.TorchSave, set.Format);
        AssertMatches(set, ReadMixedExpected(), checkLayout: true);
        // The transposed and sliced views share one storage with the base tensor, as in the file.
        Assert.Same(set["views.base"].Storage, set["views.transposed"].Storage);
        Assert.Same(set["views.base"].Storage, set["views.sliced"].Storage);
    }

    [Fact]
    public void TorchSaveScalarsBecomeMetadataAndTreeIsExposed()
    {
        using var set = WeightLoader.Load(WeightFixtures.PathOf("mixed.pt"));
        Assert.Equal("10", set.Metadata["epoch"]);
        Assert.Equal(0.0005, double.Parse(set.Metadata["lr"], CultureInfo.InvariantCulture));
        Assert.Equal("vcp", set.Metadata["name"]);
        Assert.Equal("x", set.Metadata["layers.2.1"]);
        var root = Assert.IsType<PickleDict>(set.Tree);
        var linear = Assert.IsType<PickleDict>(root.Get("trainable_linearlayer"));
        Assert.IsType<PickleTensor>(linear.Get("fc.0.weight"));
        Assert.Equal(3, Assert.IsType<PickleList>(root.Get("layers")).Items.Count);
    }

    [Fact]
    public void StateDictMetadataAttributeIsNotATensor()
    {
        // model.state_dict() pickles an OrderedDict with a `_metadata` attribute via BUILD; it must not leak into names.
        using var set = WeightLoader.Load(WeightFixtures.PathOf("clip_tiny_f32.pt"));
        Assert.NotNull(Assert.IsType<PickleDict>(set.Tree).Attributes);
        Assert.DoesNotContain(set.Names, n => n.Contains("_metadata", StringComparison.Ordinal));
    }

    [Fact]
    public void SafetensorsTwinHasSameValuesAndMetadata()
    {
        using var set = WeightLoader.Load(WeightFixtures.PathOf("mixed.safetensors"));
        Assert.Equal(WeightFileFormat.Safetensors, set.Format);
        AssertMatches(set, ReadMixedExpected(), checkLayout: false);
        Assert.Equal("mixed dtypes", set.Metadata["note"]);
        Assert.Equal("pt", set.Metadata["format"]);
    }

    [Fact]
    public void HalfAndBFloat16WidenExactlyIncludingSubnormalsAndInfinity()
    {
        using var set = WeightLoader.Load(WeightFixtures.PathOf("mixed.pt"));
        var f16 = set["dtypes.f16"].ToFloat32();
        // Python: float(torch.float16 value); 2^-24 is the smallest fp16 subnormal, 65504 the largest finite value.
        Assert.Equal([0.0999755859375f, -2.5f, 65504f, 6.097555160522461e-05f, 5.960464477539063e-08f, float.PositiveInfinity], f16);
        var bf16 = set["dtypes.bf16"].ToFloat32();
        Assert.Equal(float.NegativeInfinity, bf16[4]);
        Assert.Equal(0.10009765625f, bf16[0]); // bf16(0.1): 7 mantissa bits
    }
}
