// How the linear-layer weight matrices of a vcp-native CLIP file are stored (f32, bf16, int8 + per-row scales), and the keys that say so.
namespace VcpNative.WeightsConverter.Quantization;

/// <summary>Storage format of the 2-D linear weights; every other tensor of the file stays F32.</summary>
public enum LinearWeightFormat
{
    /// <summary>F32 everywhere (the default).</summary>
    F32,

    /// <summary>Linear weights as safetensors BF16 (float32 rounded to nearest even); computed in f32.</summary>
    BF16,

    /// <summary>
    /// Linear weights W[N,K] as safetensors I8 q, plus F32 <c>&lt;name&gt;.int8_scale</c> [N]: W[n,k] = q[n,k] * scale[n]
    /// (symmetric, per output channel).
    /// </summary>
    Int8,
}

/// <summary>Names of the formats and the file keys that carry them.</summary>
public static class LinearWeightFormats
{
    /// <summary>safetensors <c>__metadata__</c> key whose value is the format name ("f32", "bf16", "int8").</summary>
    public const string MetadataKey = "weight_format";

    /// <summary>Suffix of the per-output-channel scale tensor of an I8 weight: <c>&lt;weight name&gt;.int8_scale</c>.</summary>
    public const string ScaleSuffix = ".int8_scale";

    public static string Name(LinearWeightFormat format) => format switch
    {
        LinearWeightFormat.BF16 => "bf16",
        LinearWeightFormat.Int8 => "int8",
        _ => "f32",
    };

    /// <summary>Parses "f32" / "bf16" / "int8" (case-insensitive); false for anything else.</summary>
    public static bool TryParse(string? name, out LinearWeightFormat format)
    {
        foreach (var f in new[] { LinearWeightFormat.F32, LinearWeightFormat.BF16, LinearWeightFormat.Int8 })
        {
            if (string.Equals(name, Name(f), StringComparison.OrdinalIgnoreCase))
            {
                format = f;
                return true;
            }
        }
        format = LinearWeightFormat.F32;
        return false;
    }

    /// <summary>The format a file declares (F32 when it declares none); an unknown name is a file error.</summary>
    public static LinearWeightFormat Of(WeightSet set)
    {
        if (!set.Metadata.TryGetValue(MetadataKey, out var name))
        {
            return LinearWeightFormat.F32;
        }
        return TryParse(name, out var format)
            ? format
            : throw new ModelFormatException(set.SourcePath, null, null, $"metadata {MetadataKey}: expected f32, bf16 or int8, found '{name}'");
    }

    public static string ScaleName(string weightName) => weightName + ScaleSuffix;
}
