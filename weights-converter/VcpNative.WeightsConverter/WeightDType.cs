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

    /// <summary>The dtype string used in a safetensors header.</summary>
    public static string ToSafetensorsName(WeightDType dtype) => dtype == WeightDType.Bool ? "BOOL" : dtype.ToString().ToUpperInvariant();

    public static bool TryParseSafetensorsName(string name, out WeightDType dtype)
    {
        switch (name)
        {
            case "F32": dtype = WeightDType.F32; return true;
            case "F16": dtype = WeightDType.F16; return true;
            case "BF16": dtype = WeightDType.BF16; return true;
            case "F64": dtype = WeightDType.F64; return true;
            case "I64": dtype = WeightDType.I64; return true;
            case "I32": dtype = WeightDType.I32; return true;
            case "I16": dtype = WeightDType.I16; return true;
            case "I8": dtype = WeightDType.I8; return true;
            case "U8": dtype = WeightDType.U8; return true;
            case "BOOL": dtype = WeightDType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>Maps a legacy PyTorch typed-storage class name (`FloatStorage`, ...) to its element type.</summary>
    public static bool TryParseTorchStorageName(string name, out WeightDType dtype)
    {
        switch (name)
        {
            case "FloatStorage": dtype = WeightDType.F32; return true;
            case "HalfStorage": dtype = WeightDType.F16; return true;
            case "BFloat16Storage": dtype = WeightDType.BF16; return true;
            case "DoubleStorage": dtype = WeightDType.F64; return true;
            case "LongStorage": dtype = WeightDType.I64; return true;
            case "IntStorage": dtype = WeightDType.I32; return true;
            case "ShortStorage": dtype = WeightDType.I16; return true;
            case "CharStorage": dtype = WeightDType.I8; return true;
            case "ByteStorage": dtype = WeightDType.U8; return true;
            case "BoolStorage": dtype = WeightDType.Bool; return true;
            default: dtype = default; return false;
        }
    }
}
