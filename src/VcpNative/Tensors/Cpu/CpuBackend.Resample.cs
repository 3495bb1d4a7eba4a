// CPU kernel of separable 2-D resampling: banded row passes vectorised across columns, blocked transposes between.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Work (multiply-adds) per parallel chunk, so tiny problems stay on one thread.
    private const int ResampleChunkWork = 1 << 15;

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
        var xs = Cpu(x).Floats;
        var ys = Cpu(y).Floats;
        var xo = x.Offset;
        var yo = y.Offset;
        _ = Dense(x);
        _ = Dense(y);
        if (planes == 0)
        {
            return;
        }
        // Row passes only: the W pass runs on transposed planes so every pass is vectorised across contiguous columns.
        var scratchLength = (long)planes * Math.Max(Math.Max(oh * w, oh * ow), Math.Max(h * ow, h * w));
        var t1 = Pool.Rent<float>(scratchLength, zero: false);
        var t2 = Pool.Rent<float>(scratchLength, zero: false);
        try
        {
            if (heightFirst)
            {
                BandRows(xs, xo, t1, 0, planes, w, alongH);        // [P, oh, w]
                TransposePlanes(t1, 0, t2, 0, planes, oh, w);      // [P, w, oh]
                BandRows(t2, 0, t1, 0, planes, oh, alongW);        // [P, ow, oh]
                TransposePlanes(t1, 0, ys, yo, planes, ow, oh);    // [P, oh, ow]
            }
            else
            {
                TransposePlanes(xs, xo, t1, 0, planes, h, w);      // [P, w, h]
                BandRows(t1, 0, t2, 0, planes, h, alongW);         // [P, ow, h]
                TransposePlanes(t2, 0, t1, 0, planes, ow, h);      // [P, h, ow]
                BandRows(t1, 0, ys, yo, planes, ow, alongH);       // [P, oh, ow]
            }
        }
        finally
        {
            Pool.Return(t1);
            Pool.Return(t2);
        }
    }

    /// <summary>dst[p, o, c] = Σ_t w[o, t] · src[p, start[o] + t, c] for planes of [InSize, cols] → [OutSize, cols].</summary>
    private static void BandRows(float[] src, long srcOffset, float[] dst, long dstOffset, int planes, int cols, ResampleWeights table)
    {
        var inRows = table.InSize;
        var outRows = table.OutSize;
        var perRow = Math.Max(1, table.MaxTaps * cols);
        CpuParallel.ForRange(planes * outRows, (begin, end) =>
        {
            var starts = table.Starts;
            var counts = table.Counts;
            var weights = table.Weights;
            fixed (float* s = src, d = dst)
            fixed (double* wt = weights)
            {
                for (var r = begin; r < end; r++)
                {
                    var p = r / outRows;
                    var o = r - p * outRows;
                    var first = s + srcOffset + ((long)p * inRows + starts[o]) * cols;
                    BandRow(first, cols, wt + (long)o * table.MaxTaps, counts[o], d + dstOffset + (long)r * cols, cols);
                }
            }
        }, minChunk: Math.Max(1, ResampleChunkWork / perRow));
    }

    /// <summary>out[c] = Σ_t w[t] · rows[t·stride + c] in float64, rounded once to float32.</summary>
    private static void BandRow(float* rows, long stride, double* w, int taps, float* output, int cols)
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
                    var lo = Vector256.Load(src);
                    var hi = Vector256.Load(src + 8);
                    a0 = MulAdd(Vector256.WidenLower(lo), wv, a0);
                    a1 = MulAdd(Vector256.WidenUpper(lo), wv, a1);
                    a2 = MulAdd(Vector256.WidenLower(hi), wv, a2);
                    a3 = MulAdd(Vector256.WidenUpper(hi), wv, a3);
                }
                Vector256.Narrow(a0, a1).Store(output + c);
                Vector256.Narrow(a2, a3).Store(output + c + 8);
            }
            for (; c + 8 <= cols; c += 8)
            {
                var a0 = Vector256<double>.Zero;
                var a1 = Vector256<double>.Zero;
                var src = rows + c;
                for (var t = 0; t < taps; t++, src += stride)
                {
                    var wv = Vector256.Create(w[t]);
                    var v = Vector256.Load(src);
                    a0 = MulAdd(Vector256.WidenLower(v), wv, a0);
                    a1 = MulAdd(Vector256.WidenUpper(v), wv, a1);
                }
                Vector256.Narrow(a0, a1).Store(output + c);
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

    /// <summary>dst[p] = src[p]ᵀ for planes of [rows, cols], in 32×32 blocks so both sides stay in cache.</summary>
    private static void TransposePlanes(float[] src, long srcOffset, float[] dst, long dstOffset, int planes, int rows, int cols)
    {
        const int block = 32;
        var rowBlocks = (rows + block - 1) / block;
        CpuParallel.ForRange(planes * rowBlocks, (begin, end) =>
        {
            fixed (float* s0 = src, d0 = dst)
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
                                d[(long)c * rows + r] = s[(long)r * cols + c];
                            }
                        }
                    }
                }
            }
        }, minChunk: Math.Max(1, ResampleChunkWork / Math.Max(1, block * cols)));
    }
}
