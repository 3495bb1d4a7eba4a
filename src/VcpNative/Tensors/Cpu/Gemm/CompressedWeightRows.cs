// Widens rows of compressed linear weights (bf16 bits, int8 with a row scale) to f32, vectorised, for sgemm's B packing.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VcpNative.Tensors.Cpu;

/// <summary>How a weight matrix W[N,K] handed to sgemm is stored; the packed panels are always f32.</summary>
public enum WeightEncoding
{
    /// <summary>Plain f32 values.</summary>
    F32,

    /// <summary>bfloat16 bits: the value is the bits shifted into the high half of an f32 (exact).</summary>
    BFloat16,

    /// <summary>int8 q with one f32 scale per row (output channel): the value is (float)q * scale, one rounding.</summary>
    Int8,
}

/// <summary>Row decoders. Both are exact functions of the stored data, so the packed panel equals the dequantised matrix bit for bit.</summary>
internal static unsafe class CompressedWeightRows
{
    /// <summary>dst[i] = f32(src[i]) for bf16 bits: a zero-extend and a 16-bit shift per element.</summary>
    public static void DecodeBFloat16(ushort* src, float* dst, int n)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(src + i));
                Vector256.Store(Vector256.ShiftLeft(lo, 16).AsSingle(), dst + i);
                Vector256.Store(Vector256.ShiftLeft(hi, 16).AsSingle(), dst + i + 8);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Load(src + i));
                Vector128.Store(Vector128.ShiftLeft(lo, 16).AsSingle(), dst + i);
                Vector128.Store(Vector128.ShiftLeft(hi, 16).AsSingle(), dst + i + 4);
            }
        }
        for (; i < n; i++)
        {
            dst[i] = BitConverter.Int32BitsToSingle(src[i] << 16);
        }
    }

    /// <summary>dst[i] = (float)src[i] * scale: sign-extend twice, convert, one multiply.</summary>
    public static void DecodeInt8(sbyte* src, float scale, float* dst, int n)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            for (; i + 32 <= n; i += 32)
            {
                var (a, b) = Vector256.Widen(Vector256.Load(src + i));
                StoreScaled256(a, s, dst + i);
                StoreScaled256(b, s, dst + i + 16);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var s = Vector128.Create(scale);
            for (; i + 16 <= n; i += 16)
            {
                var (a, b) = Vector128.Widen(Vector128.Load(src + i));
                StoreScaled128(a, s, dst + i);
                StoreScaled128(b, s, dst + i + 8);
            }
        }
        for (; i < n; i++)
        {
            dst[i] = src[i] * scale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScaled256(Vector256<short> v, Vector256<float> scale, float* dst)
    {
        var (lo, hi) = Vector256.Widen(v);
        Vector256.Store(Vector256.ConvertToSingle(lo) * scale, dst);
        Vector256.Store(Vector256.ConvertToSingle(hi) * scale, dst + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScaled128(Vector128<short> v, Vector128<float> scale, float* dst)
    {
        var (lo, hi) = Vector128.Widen(v);
        Vector128.Store(Vector128.ConvertToSingle(lo) * scale, dst);
        Vector128.Store(Vector128.ConvertToSingle(hi) * scale, dst + 4);
    }

    /// <summary>Rows [row0, row0 + rows) x columns [col0, col0 + cols) of W (leading dimension ld) decoded to dst (row stride cols).</summary>
    public static void DecodeBlock(WeightEncoding encoding, void* w, float* rowScales, long ld, int row0, int rows, int col0, int cols, float* dst)
    {
        for (var r = 0; r < rows; r++)
        {
            var offset = ((row0 + r) * ld) + col0;
            if (encoding == WeightEncoding.BFloat16)
            {
                DecodeBFloat16((ushort*)w + offset, dst + ((long)r * cols), cols);
            }
            else
            {
                DecodeInt8((sbyte*)w + offset, rowScales[row0 + r], dst + ((long)r * cols), cols);
            }
        }
    }
}
