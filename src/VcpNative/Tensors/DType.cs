// Element types a tensor may store; compute is always float32 for the float types.
namespace VcpNative.Tensors;

/// <summary>
/// Storage element type. F16 and BF16 are storage-only formats: ops widen them to F32. I8 holds quantised weights
/// (value = q * per-row scale, see <see cref="Tensor.ChannelScales"/>); the CPU linear layer reads it directly.
/// </summary>
public enum DType
{
    /// <summary>32-bit float.</summary>
    F32,
    /// <summary>IEEE 16-bit float.</summary>
    F16,
    /// <summary>bfloat16 (the high half of an f32).</summary>
    BF16,
    /// <summary>32-bit signed integer.</summary>
    I32,
    /// <summary>64-bit signed integer.</summary>
    I64,
    /// <summary>8-bit signed integer (quantised weights).</summary>
    I8,
}

/// <summary>Sizes and conversions of <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F16 => 2,
        DType.BF16 => 2,
        DType.I32 => 4,
        DType.I64 => 8,
        DType.I8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>True for F32, F16 and BF16.</summary>
    public static bool IsFloat(DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16;

    /// <summary>Short lower-case name ("f32", "bf16", ...) for messages.</summary>
    public static string Name(DType dtype) => dtype switch
    {
        DType.F32 => "f32",
        DType.F16 => "f16",
        DType.BF16 => "bf16",
        DType.I32 => "i32",
        DType.I64 => "i64",
        DType.I8 => "i8",
        _ => dtype.ToString(),
    };

    /// <summary>bfloat16 bits to float: the bf16 value is the high half of an f32.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>float to bfloat16 bits, round to nearest even (as PyTorch does); NaN stays NaN. One encoder for files and tensors.</summary>
    public static ushort SingleToBFloat16(float value) => WeightsConverter.Quantization.WeightQuantization.ToBFloat16(value);

    /// <summary>The fp32 value of IEEE half bits.</summary>
    public static float HalfToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>IEEE half bits of the value, rounded to nearest.</summary>
    public static ushort SingleToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);
}
