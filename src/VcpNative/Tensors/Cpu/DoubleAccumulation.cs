// Row reductions of float spans (sum, squared deviations, dot) accurate to float64 within float rounding of each
// term: blocks of 256 elements are summed in float SIMD lanes, block totals in double (fast and length-independent).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VcpNative.Tensors.Cpu;

/// <summary>Sum, sum of squared deviations and dot product of float spans with double accumulation across blocks.</summary>
internal static class DoubleAccumulation
{
    // Each float lane adds at most Block / 32 terms before its block total moves into double: error stays ~1e-7 relative.
    private const int Block = 256;

    public static double Sum(ReadOnlySpan<float> x) => Accumulate<Plain>(x, x, 0f);

    /// <summary>Sum of (x - mean)^2: the second pass of a two-pass variance.</summary>
    public static double SumSquaredDeviations(ReadOnlySpan<float> x, double mean) => Accumulate<SquaredDeviation>(x, x, (float)mean);

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => Accumulate<Product>(a, b[..a.Length], 0f);

    /// <summary>Scratch row of <paramref name="length"/> floats: the caller's stack buffer when it fits, else a new array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<float> Scratch(Span<float> stackBuffer, int length) =>
        length <= stackBuffer.Length ? stackBuffer[..length] : new float[length];

    /// <summary>The summed term of one element pair: generic so the JIT specialises each loop (no per-element branch).</summary>
    private interface ITerm
    {
        static abstract Vector256<float> Of(Vector256<float> a, Vector256<float> b, Vector256<float> c);

        static abstract Vector128<double> Of(Vector128<double> a, Vector128<double> b, Vector128<double> c);

        static abstract double Of(float a, float b, float c);
    }

    private readonly struct Plain : ITerm
    {
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b, Vector256<float> c) => a;

        public static Vector128<double> Of(Vector128<double> a, Vector128<double> b, Vector128<double> c) => a;

        public static double Of(float a, float b, float c) => a;
    }

    private readonly struct SquaredDeviation : ITerm
    {
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        {
            var d = a - c;
            return d * d;
        }

        public static Vector128<double> Of(Vector128<double> a, Vector128<double> b, Vector128<double> c)
        {
            var d = a - c;
            return d * d;
        }

        public static double Of(float a, float b, float c)
        {
            var d = (double)a - c;
            return d * d;
        }
    }

    private readonly struct Product : ITerm
    {
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b, Vector256<float> c) => a * b;

        public static Vector128<double> Of(Vector128<double> a, Vector128<double> b, Vector128<double> c) => a * b;

        public static double Of(float a, float b, float c) => (double)a * b;
    }

    private static double Accumulate<T>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float c)
        where T : struct, ITerm
    {
        double total = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var av = MemoryMarshal.Cast<float, Vector256<float>>(a);
            var bv = MemoryMarshal.Cast<float, Vector256<float>>(b);
            var cv = Vector256.Create(c);
            const int perBlock = Block / 8;
            for (var start = 0; start < av.Length; start += perBlock)
            {
                var end = Math.Min(av.Length, start + perBlock);
                // Four independent accumulators hide the add latency.
                var s0 = Vector256<float>.Zero;
                var s1 = Vector256<float>.Zero;
                var s2 = Vector256<float>.Zero;
                var s3 = Vector256<float>.Zero;
                var v = start;
                for (; v + 4 <= end; v += 4)
                {
                    s0 += T.Of(av[v], bv[v], cv);
                    s1 += T.Of(av[v + 1], bv[v + 1], cv);
                    s2 += T.Of(av[v + 2], bv[v + 2], cv);
                    s3 += T.Of(av[v + 3], bv[v + 3], cv);
                }
                for (; v < end; v++)
                {
                    s0 += T.Of(av[v], bv[v], cv);
                }
                var (lo, hi) = Vector256.Widen((s0 + s1) + (s2 + s3));
                total += Vector256.Sum(lo + hi);
            }
            i = av.Length * 8;
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            // arm64 NEON: 4-lane float sums would round more often than the 8-lane ones above (short rows with a large
            // offset, e.g. LayerNorm of 13 values near 50, lose 1e-5), so terms are widened and summed in double as
            // the scalar tail does; the two-lane double adds cost little next to the matrix products.
            var av = MemoryMarshal.Cast<float, Vector128<float>>(a);
            var bv = MemoryMarshal.Cast<float, Vector128<float>>(b);
            var cv = Vector128.Create((double)c);
            var s0 = Vector128<double>.Zero;
            var s1 = Vector128<double>.Zero;
            for (var v = 0; v < av.Length; v++)
            {
                var (alo, ahi) = Vector128.Widen(av[v]);
                var (blo, bhi) = Vector128.Widen(bv[v]);
                s0 += T.Of(alo, blo, cv);
                s1 += T.Of(ahi, bhi, cv);
            }
            total += Vector128.Sum(s0 + s1);
            i = av.Length * 4;
        }
        for (; i < a.Length; i++)
        {
            total += T.Of(a[i], b[i], c);
        }
        return total;
    }
}
