// Bulk conversion of little-endian element bytes to float32 / int64.
using System.Numerics;
using System.Runtime.InteropServices;

namespace VcpNative.WeightsConverter;

internal static class DTypeConversion
{
    public static void ToFloat32(ReadOnlySpan<byte> src, WeightDType dtype, Span<float> dst)
    {
        // Weight files are little-endian; reinterpreting the bytes is only valid on a little-endian host.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
        switch (dtype)
        {
            case WeightDType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case WeightDType.F16:
                Widen<Half, float>(src, dst);
                break;
            case WeightDType.BF16:
            {
                // bfloat16 is the top half of a float32, so the widening is exact.
                var b = MemoryMarshal.Cast<byte, ushort>(src);
                for (var i = 0; i < b.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(b[i] << 16);
                break;
            }
            case WeightDType.F64:
                Widen<double, float>(src, dst);
                break;
            case WeightDType.Bool:
                for (var i = 0; i < src.Length; i++) dst[i] = src[i] != 0 ? 1f : 0f;
                break;
            default:
                if (!TryWidenInteger(src, dtype, dst)) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null);
                break;
        }
    }

    public static void ToInt64(ReadOnlySpan<byte> src, WeightDType dtype, Span<long> dst)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
        switch (dtype)
        {
            case WeightDType.I64:
                MemoryMarshal.Cast<byte, long>(src).CopyTo(dst);
                break;
            case WeightDType.Bool:
                for (var i = 0; i < src.Length; i++) dst[i] = src[i] != 0 ? 1 : 0;
                break;
            default:
                if (!TryWidenInteger(src, dtype, dst)) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not an integer dtype");
                break;
        }
    }

    /// <summary>The integer element types (I64, I32, I16, I8, U8) converted to either destination; false for the others.</summary>
    private static bool TryWidenInteger<TDst>(ReadOnlySpan<byte> src, WeightDType dtype, Span<TDst> dst)
        where TDst : unmanaged, INumberBase<TDst>
    {
        switch (dtype)
        {
            case WeightDType.I64: Widen<long, TDst>(src, dst); return true;
            case WeightDType.I32: Widen<int, TDst>(src, dst); return true;
            case WeightDType.I16: Widen<short, TDst>(src, dst); return true;
            case WeightDType.I8: Widen<sbyte, TDst>(src, dst); return true;
            case WeightDType.U8: Widen<byte, TDst>(src, dst); return true;
            default: return false;
        }
    }

    /// <summary>dst[i] = (TDst)src[i] with src reinterpreted as TSrc elements; the same rounding as a C# cast.</summary>
    private static void Widen<TSrc, TDst>(ReadOnlySpan<byte> src, Span<TDst> dst)
        where TSrc : unmanaged, INumberBase<TSrc>
        where TDst : unmanaged, INumberBase<TDst>
    {
        var v = MemoryMarshal.Cast<byte, TSrc>(src);
        for (var i = 0; i < v.Length; i++) dst[i] = TDst.CreateTruncating(v[i]);
    }
}
