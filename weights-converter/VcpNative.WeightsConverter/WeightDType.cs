// Element types a weight file can hold, with their sizes and their names in safetensors and PyTorch.
namespace VcpNative.WeightsConverter;

public enum WeightDType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool }

public static class WeightDTypeInfo
{
    public static int ElementSize(WeightDType dtype) => dtype switch
    {
        WeightDType.F64 or WeightDType.I64 => 8,
        WeightDType.F32 or WeightDType.I32 => 4,
        WeightDType.F16 or WeightDType.BF16 or WeightDType.I16 => 2,
        _ => 1,
    };

    public static bool IsFloatingPoint(WeightDType dtype) =>
        dtype is WeightDType.F32 or WeightDType.F16 or WeightDType.BF16 or WeightDType.F64;

    /// <summary>One row per element type: its safetensors header name and its legacy PyTorch typed-storage class.</summary>
    private static readonly (WeightDType DType, string Safetensors, string TorchStorage)[] Names =
    [
        (WeightDType.F32, "F32", "FloatStorage"),
        (WeightDType.F16, "F16", "HalfStorage"),
        (WeightDType.BF16, "BF16", "BFloat16Storage"),
        (WeightDType.F64, "F64", "DoubleStorage"),
        (WeightDType.I64, "I64", "LongStorage"),
        (WeightDType.I32, "I32", "IntStorage"),
        (WeightDType.I16, "I16", "ShortStorage"),
        (WeightDType.I8, "I8", "CharStorage"),
        (WeightDType.U8, "U8", "ByteStorage"),
        (WeightDType.Bool, "BOOL", "BoolStorage"),
    ];

    /// <summary>The dtype string used in a safetensors header.</summary>
    public static string ToSafetensorsName(WeightDType dtype)
    {
        foreach (var row in Names)
        {
            if (row.DType == dtype) return row.Safetensors;
        }
        throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null);
    }

    public static bool TryParseSafetensorsName(string name, out WeightDType dtype) => TryParse(name, torchStorage: false, out dtype);

    /// <summary>Maps a legacy PyTorch typed-storage class name (`FloatStorage`, ...) to its element type.</summary>
    public static bool TryParseTorchStorageName(string name, out WeightDType dtype) => TryParse(name, torchStorage: true, out dtype);

    private static bool TryParse(string name, bool torchStorage, out WeightDType dtype)
    {
        foreach (var row in Names)
        {
            if ((torchStorage ? row.TorchStorage : row.Safetensors) == name)
            {
                dtype = row.DType;
                return true;
            }
        }
        dtype = default;
        return false;
    }
}
