// CPU kernel of separable 2-D resampling: banded row passes vectorised across columns, blocked transposes between.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Work (multiply-adds) per parallel chunk, so tiny problems stay on one thread.
    private const int ResampleChunkWork = 1 << 15;

    /// <inheritdoc/>
    public void Resample2d(Tensor x, Tensor y, ResampleWeights alongH, ResampleWeights alongW, bool heightFirst)
    {
        var h = alongH.InSize;
        var w = alongW.InSize;
        var oh = alongH.OutSize;
        var ow = alongW.OutSize;
        var planes = (int)(x.Numel / Math.Max(1L, (long)h * w));
        if (x.Numel != (long)planes * h * w || y.Numel != (long)planes * oh * ow)
        {
            throw new ShapeMismatchException("resample2d", x.Shape, y.Shape, $"input/output vs tables ({h}x{w} -> {oh}x{ow})");
        }
        var (xs, xo) = DenseArray(x);
        var (ys, yo) = DenseArray(y);
        if (planes == 0)
        {
            return;
        }
        // Row passes only: the W pass runs on transposed planes so every pass is vectorised across contiguous columns.
        // Each pass reads a float64 copy of its input (made while transposing) so the taps need no conversions.
        var scratchLength = (long)planes * Math.Max(Math.Max(oh * w, oh * ow), Math.Max(h * ow, h * w));
        var d1 = Pool.Rent<double>(scratchLength, zero: false);
        var d2 = Pool.Rent<double>(scratchLength, zero: false);
        var f = Pool.Rent<float>(scratchLength, zero: false);
        try
        {
            if (heightFirst)
            {
                TransposePlanes(xs, xo, d1, planes, h * w, 1);       // [P, h, w] as float64 (no transpose)
                BandRows(d1, f, 0, planes, w, alongH);               // [P, oh, w]
                TransposePlanes(f, 0, d2, planes, oh, w);            // [P, w, oh]
                BandRows(d2, f, 0, planes, oh, alongW);              // [P, ow, oh]
                TransposePlanes(f, 0, ys, yo, planes, ow, oh);       // [P, oh, ow]
            }
            else
            {
                TransposePlanes(xs, xo, d1, planes, h, w);           // [P, w, h]
                BandRows(d1, f, 0, planes, h, alongW);               // [P, ow, h]
                TransposePlanes(f, 0, d2, planes, ow, h);            // [P, h, ow]
                BandRows(d2, ys, yo, planes, ow, alongH);            // [P, oh, ow]
            }
        }
        finally
        {
            Pool.Return(d1);
            Pool.Return(d2);
            Pool.Return(f);
        }
    }

    /// <summary>dst[p, o, c] = Σ_t w[o, t] · src[p, start[o] + t, c] for planes of [InSize, cols] → [OutSize, cols].</summary>
    private static void BandRows(double[] src, float[] dst, long dstOffset, int planes, int cols, ResampleWeights table)
    {
        var inRows = table.InSize;
        var outRows = table.OutSize;
        var perRow = Math.Max(1, table.MaxTaps * cols);
        CpuParallel.ForRange(planes * outRows, (begin, end) =>
        {
            var starts = table.Starts;
            var counts = table.Counts;
            var weights = table.Weights;
            fixed (double* s = src, wt = weights)
            fixed (float* d = dst)
            {
                for (var r = begin; r < end; r++)
                {
                    var p = r / outRows;
                    var o = r - p * outRows;
                    var first = s + ((long)p * inRows + starts[o]) * cols;
                    BandRow(first, cols, wt + (long)o * table.MaxTaps, counts[o], d + dstOffset + (long)r * cols, cols);
                }
            }
        }, minChunk: Math.Max(1, ResampleChunkWork / perRow));
    }

    /// <summary>out[c] = Σ_t w[t] · rows[t·stride + c] in float64, rounded once to float32.</summary>
    private static void BandRow(double* rows, long stride, double* w, int taps, float* output, int cols)
    {
        var c = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; c + 16 <= cols; c += 16)
            {
                var a0 = Vector256<double>.Zero;
                var a1 = Vector256<double>.Zero;
                var a2 = Vector256<double>.Zero;
                var a3 = Vector256<double>.Zero;
                var src = rows + c;
                for (var t = 0; t < taps; t++, src += stride)
                {
                    var wv = Vector256.Create(w[t]);
                    a0 = MulAdd(Vector256.Load(src), wv, a0);
                    a1 = MulAdd(Vector256.Load(src + 4), wv, a1);
                    a2 = MulAdd(Vector256.Load(src + 8), wv, a2);
                    a3 = MulAdd(Vector256.Load(src + 12), wv, a3);
                }
                Vector256.Narrow(a0, a1).Store(output + c);
                Vector256.Narrow(a2, a3).Store(output + c + 8);
            }
            for (; c + 4 <= cols; c += 4)
            {
                var a0 = Vector256<double>.Zero;
                var src = rows + c;
                for (var t = 0; t < taps; t++, src += stride)
                {
                    a0 = MulAdd(Vector256.Load(src), Vector256.Create(w[t]), a0);
                }
                for (var l = 0; l < 4; l++)
                {
                    output[c + l] = (float)a0.GetElement(l);
                }
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            // arm64 NEON: two doubles per vector, four columns per pass; the same float64 sums in the same tap order.
            for (; c + 4 <= cols; c += 4)
            {
                var a0 = Vector128<double>.Zero;
                var a1 = Vector128<double>.Zero;
                var src = rows + c;
                for (var t = 0; t < taps; t++, src += stride)
                {
                    var wv = Vector128.Create(w[t]);
                    a0 = Vector128.MultiplyAddEstimate(Vector128.Load(src), wv, a0);
                    a1 = Vector128.MultiplyAddEstimate(Vector128.Load(src + 2), wv, a1);
                }
                Vector128.Narrow(a0, a1).Store(output + c);
            }
        }
        for (; c < cols; c++)
        {
            var acc = 0.0;
            var src = rows + c;
            for (var t = 0; t < taps; t++, src += stride)
            {
                acc += w[t] * *src;
            }
            output[c] = (float)acc;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> MulAdd(Vector256<double> a, Vector256<double> b, Vector256<double> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>
    /// dst[p] = src[p]ᵀ for planes of [rows, cols] (converted to <typeparamref name="T"/>), in 32×32 blocks so both
    /// sides stay in cache. cols = 1 makes it a plain conversion.
    /// </summary>
    private static void TransposePlanes<T>(float[] src, long srcOffset, T[] dst, long dstOffset, int planes, int rows, int cols)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        const int block = 32;
        var rowBlocks = (rows + block - 1) / block;
        CpuParallel.ForRange(planes * rowBlocks, (begin, end) =>
        {
            fixed (float* s0 = src)
            fixed (T* d0 = dst)
            {
                for (var item = begin; item < end; item++)
                {
                    var p = item / rowBlocks;
                    var r0 = (item - p * rowBlocks) * block;
                    var r1 = Math.Min(rows, r0 + block);
                    var s = s0 + srcOffset + (long)p * rows * cols;
                    var d = d0 + dstOffset + (long)p * rows * cols;
                    for (var c0 = 0; c0 < cols; c0 += block)
                    {
                        var c1 = Math.Min(cols, c0 + block);
                        for (var r = r0; r < r1; r++)
                        {
                            for (var c = c0; c < c1; c++)
                            {
                                d[(long)c * rows + r] = T.CreateTruncating(s[(long)r * cols + c]);
                            }
                        }
                    }
                }
            }
        }, minChunk: Math.Max(1, ResampleChunkWork / Math.Max(1, block * cols)));
    }

    private static void TransposePlanes<T>(float[] src, long srcOffset, T[] dst, int planes, int rows, int cols)
        where T : unmanaged, System.Numerics.INumberBase<T> =>
        TransposePlanes(src, srcOffset, dst, 0, planes, rows, cols);
}
