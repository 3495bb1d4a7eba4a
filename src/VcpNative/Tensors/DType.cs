// Element types a tensor may store; compute is always float32 for the float types.
namespace VcpNative.Tensors;

/// <summary>
/// Storage element type. F16 and BF16 are storage-only formats: ops widen them to F32. I8 holds quantised weights
/// (value = q * per-row scale, see <see cref="Tensor.ChannelScales"/>); the CPU linear layer reads it directly.
/// </summary>
public enum DType
{
    F32,
    F16,
    BF16,
    I32,
    I64,
    I8,
}

/// <summary>Sizes and conversions of <see cref="DType"/> values.</summary>
public static class DTypes
{
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

    public static bool IsFloat(DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16;

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

    public static float HalfToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    public static ushort SingleToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);
}
