// Bulk conversion of little-endian element bytes to float32 / int64.
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
            {
                var h = MemoryMarshal.Cast<byte, Half>(src);
                for (var i = 0; i < h.Length; i++) dst[i] = (float)h[i];
                break;
            }
            case WeightDType.BF16:
            {
                // bfloat16 is the top half of a float32, so the widening is exact.
                var b = MemoryMarshal.Cast<byte, ushort>(src);
                for (var i = 0; i < b.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(b[i] << 16);
                break;
            }
            case WeightDType.F64:
            {
                var d = MemoryMarshal.Cast<byte, double>(src);
                for (var i = 0; i < d.Length; i++) dst[i] = (float)d[i];
                break;
            }
            case WeightDType.I64:
            {
                var v = MemoryMarshal.Cast<byte, long>(src);
                for (var i = 0; i < v.Length; i++) dst[i] = v[i];
                break;
            }
            case WeightDType.I32:
            {
                var v = MemoryMarshal.Cast<byte, int>(src);
                for (var i = 0; i < v.Length; i++) dst[i] = v[i];
                break;
            }
            case WeightDType.I16:
            {
                var v = MemoryMarshal.Cast<byte, short>(src);
                for (var i = 0; i < v.Length; i++) dst[i] = v[i];
                break;
            }
            case WeightDType.I8:
            {
                var v = MemoryMarshal.Cast<byte, sbyte>(src);
                for (var i = 0; i < v.Length; i++) dst[i] = v[i];
                break;
            }
            case WeightDType.U8:
                for (var i = 0; i < src.Length; i++) dst[i] = src[i];
                break;
            case WeightDType.Bool:
                for (var i = 0; i < src.Length; i++) dst[i] = src[i] != 0 ? 1f : 0f;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null);
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
            case WeightDType.I32:
            {
                var v = MemoryMarshal.Cast<byte, int>(src);
                for (var i = 0; i < v.Length; i++) dst[i] = v[i];
                break;
            }
            case WeightDType.I16:
            {
                var v = MemoryMarshal.Cast<byte, short>(src);
                for (var i = 0; i < v.Length; i++) dst[i] = v[i];
                break;
            }
            case WeightDType.I8:
            {
                var v = MemoryMarshal.Cast<byte, sbyte>(src);
                for (var i = 0; i < v.Length; i++) dst[i] = v[i];
                break;
            }
            case WeightDType.U8:
                for (var i = 0; i < src.Length; i++) dst[i] = src[i];
                break;
            case WeightDType.Bool:
                for (var i = 0; i < src.Length; i++) dst[i] = src[i] != 0 ? 1 : 0;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not an integer dtype");
        }
    }
}
