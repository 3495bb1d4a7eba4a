// Row reductions of float spans accumulated in double, so per-row statistics (LayerNorm, norms, softmax sums)
// match a float64 reference to float rounding regardless of row length.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VcpNative.Tensors.Cpu;

/// <summary>Sum, sum of squared deviations and dot product of float spans, widened to double lanes.</summary>
internal static class DoubleAccumulation
{
    public static double Sum(ReadOnlySpan<float> x)
    {
        var i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            var acc0 = Vector256<double>.Zero;
            var acc1 = Vector256<double>.Zero;
            foreach (var v in MemoryMarshal.Cast<float, Vector256<float>>(x))
            {
                var (lo, hi) = Vector256.Widen(v);
                acc0 += lo;
                acc1 += hi;
            }
            total = Vector256.Sum(acc0 + acc1);
            i = x.Length / Vector256<float>.Count * Vector256<float>.Count;
        }
        for (; i < x.Length; i++)
        {
            total += x[i];
        }
        return total;
    }

    /// <summary>Sum of (x - mean)^2: the second pass of a two-pass variance.</summary>
    public static double SumSquaredDeviations(ReadOnlySpan<float> x, double mean)
    {
        var i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            var m = Vector256.Create(mean);
            var acc0 = Vector256<double>.Zero;
            var acc1 = Vector256<double>.Zero;
            foreach (var v in MemoryMarshal.Cast<float, Vector256<float>>(x))
            {
                var (lo, hi) = Vector256.Widen(v);
                lo -= m;
                hi -= m;
                acc0 += lo * lo;
                acc1 += hi * hi;
            }
            total = Vector256.Sum(acc0 + acc1);
            i = x.Length / Vector256<float>.Count * Vector256<float>.Count;
        }
        for (; i < x.Length; i++)
        {
            var d = x[i] - mean;
            total += d * d;
        }
        return total;
    }

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated && a.Length >= Vector256<float>.Count)
        {
            var acc0 = Vector256<double>.Zero;
            var acc1 = Vector256<double>.Zero;
            var av = MemoryMarshal.Cast<float, Vector256<float>>(a);
            var bv = MemoryMarshal.Cast<float, Vector256<float>>(b[..a.Length]);
            for (var v = 0; v < av.Length; v++)
            {
                var (alo, ahi) = Vector256.Widen(av[v]);
                var (blo, bhi) = Vector256.Widen(bv[v]);
                acc0 += alo * blo;
                acc1 += ahi * bhi;
            }
            total = Vector256.Sum(acc0 + acc1);
            i = av.Length * Vector256<float>.Count;
        }
        for (; i < a.Length; i++)
        {
            total += (double)a[i] * b[i];
        }
        return total;
    }

    /// <summary>Scratch row of <paramref name="length"/> floats: the caller's stack buffer when it fits, else a new array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<float> Scratch(Span<float> stackBuffer, int length) =>
        length <= stackBuffer.Length ? stackBuffer[..length] : new float[length];
}
