// CPU LayerNorm over the last axis: rows in parallel, statistics in double, gamma/beta gradients by column blocks.
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    // Column block width of the gamma/beta gradient: each block sums over all rows on one thread, so the result
    // does not depend on the thread count (deterministic) and needs no cross-thread reduction.
    private const int LayerNormColumnBlock = 64;

    /// <inheritdoc/>
    public void LayerNormForward(Tensor x, Tensor? gamma, Tensor? beta, float eps, Tensor y, Tensor mean, Tensor rstd)
    {
        var d = x.Shape[^1];
        var rows = LastAxisRows(x, d);
        var (xa, xo) = DenseArray(x);
        var (ya, yo) = DenseArray(y);
        var ma = Cpu(mean).Floats;
        var mo = (int)mean.Offset;
        var ra = Cpu(rstd).Floats;
        var ro = (int)rstd.Offset;
        var ga = gamma is null ? null : Cpu(gamma).Floats;
        var go = gamma is null ? 0 : (int)gamma.Offset;
        var ba = beta is null ? null : Cpu(beta).Floats;
        var bo = beta is null ? 0 : (int)beta.Offset;
        CpuParallel.ForRange(rows, (start, end) =>
        {
            ReadOnlySpan<float> g = ga is null ? default : ga.AsSpan(go, d);
            ReadOnlySpan<float> b = ba is null ? default : ba.AsSpan(bo, d);
            for (var r = start; r < end; r++)
            {
                var xr = xa.AsSpan(xo + r * d, d);
                var yr = ya.AsSpan(yo + r * d, d);
                var mu = DoubleAccumulation.Sum(xr) / d;
                var variance = DoubleAccumulation.SumSquaredDeviations(xr, mu) / d;
                var s = 1.0 / Math.Sqrt(variance + eps);
                ma[mo + r] = (float)mu;
                ra[ro + r] = (float)s;
                NormalizeRow(xr, (float)mu, (float)s, g, b, yr);
            }
        }, minChunk: RowsPerChunk(d, 8192));
    }

    /// <summary>
    /// y = (x - mean) * rstd * gamma + beta in one pass; (x - mean) first, then scale, which avoids the cancellation of
    /// x*rstd - mean*rstd when |mean| >> std. Empty gamma/beta spans mean no scale / no shift.
    /// </summary>
    private static void NormalizeRow(ReadOnlySpan<float> x, float mean, float rstd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> y)
    {
        var hasGamma = !gamma.IsEmpty;
        var hasBeta = !beta.IsEmpty;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(mean);
            var s = Vector256.Create(rstd);
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = (Vector256.Create(x.Slice(i, 8)) - m) * s;
                if (hasGamma)
                {
                    v *= Vector256.Create(gamma.Slice(i, 8));
                }
                if (hasBeta)
                {
                    v += Vector256.Create(beta.Slice(i, 8));
                }
                v.CopyTo(y.Slice(i, 8));
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var m = Vector128.Create(mean);
            var s = Vector128.Create(rstd);
            for (; i + 4 <= x.Length; i += 4)
            {
                var v = (Vector128.Create(x.Slice(i, 4)) - m) * s;
                if (hasGamma)
                {
                    v *= Vector128.Create(gamma.Slice(i, 4));
                }
                if (hasBeta)
                {
                    v += Vector128.Create(beta.Slice(i, 4));
                }
                v.CopyTo(y.Slice(i, 4));
            }
        }
        for (; i < x.Length; i++)
        {
            var v = (x[i] - mean) * rstd;
            if (hasGamma)
            {
                v *= gamma[i];
            }
            if (hasBeta)
            {
                v += beta[i];
            }
            y[i] = v;
        }
    }

    /// <inheritdoc/>
    public void LayerNormBackward(Tensor x, Tensor? gamma, Tensor mean, Tensor rstd, Tensor gy, Tensor? gx, Tensor? gGamma, Tensor? gBeta)
    {
        var d = x.Shape[^1];
        var rows = LastAxisRows(x, d);
        var (xa, xo) = DenseArray(x);
        var (gya, gyo) = DenseArray(gy);
        var ma = Cpu(mean).Floats;
        var mo = (int)mean.Offset;
        var ra = Cpu(rstd).Floats;
        var ro = (int)rstd.Offset;
        if (gx is not null)
        {
            var (gxa, gxo) = DenseArray(gx);
            var ga = gamma is null ? null : Cpu(gamma).Floats;
            var go = gamma is null ? 0 : (int)gamma.Offset;
            CpuParallel.ForRange(rows, (start, end) =>
            {
                Span<float> stack1 = stackalloc float[d <= 2048 ? d : 0];
                Span<float> stack2 = stackalloc float[d <= 2048 ? d : 0];
                var xhat = DoubleAccumulation.Scratch(stack1, d);
                var dxhat = DoubleAccumulation.Scratch(stack2, d);
                for (var r = start; r < end; r++)
                {
                    var s = ra[ro + r];
                    TensorPrimitives.Subtract(xa.AsSpan(xo + r * d, d), ma[mo + r], xhat);
                    TensorPrimitives.Multiply(xhat, s, xhat);
                    var gyr = gya.AsSpan(gyo + r * d, d);
                    if (ga is null)
                    {
                        gyr.CopyTo(dxhat);
                    }
                    else
                    {
                        TensorPrimitives.Multiply(gyr, ga.AsSpan(go, d), dxhat);
                    }
                    // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
                    var meanD = (float)(DoubleAccumulation.Sum(dxhat) / d);
                    var meanDX = (float)(DoubleAccumulation.Dot(dxhat, xhat) / d);
                    var gxr = gxa.AsSpan(gxo + r * d, d);
                    TensorPrimitives.MultiplyAdd(xhat, -meanDX, dxhat, gxr);
                    TensorPrimitives.Subtract(gxr, meanD, gxr);
                    TensorPrimitives.Multiply(gxr, s, gxr);
                }
            }, minChunk: RowsPerChunk(d, 4096));
        }
        if (gGamma is null && gBeta is null)
        {
            return;
        }
        var gga = gGamma is null ? null : Cpu(gGamma).Floats;
        var ggo = gGamma is null ? 0 : (int)gGamma.Offset;
        var gba = gBeta is null ? null : Cpu(gBeta).Floats;
        var gbo = gBeta is null ? 0 : (int)gBeta.Offset;
        var blocks = (d + LayerNormColumnBlock - 1) / LayerNormColumnBlock;
        CpuParallel.For(blocks, block =>
        {
            var c0 = block * LayerNormColumnBlock;
            var w = Math.Min(LayerNormColumnBlock, d - c0);
            Span<float> xhat = stackalloc float[w];
            Span<float> accGamma = stackalloc float[w];
            Span<float> accBeta = stackalloc float[w];
            accGamma.Clear();
            accBeta.Clear();
            for (var r = 0; r < rows; r++)
            {
                var gyr = gya.AsSpan(gyo + r * d + c0, w);
                if (gga is not null)
                {
                    TensorPrimitives.Subtract(xa.AsSpan(xo + r * d + c0, w), ma[mo + r], xhat);
                    TensorPrimitives.Multiply(xhat, ra[ro + r], xhat);
                    TensorPrimitives.FusedMultiplyAdd(xhat, gyr, accGamma, accGamma);
                }
                if (gba is not null)
                {
                    TensorPrimitives.Add(accBeta, gyr, accBeta);
                }
            }
            if (gga is not null)
            {
                accGamma.CopyTo(gga.AsSpan(ggo + c0, w));
            }
            if (gba is not null)
            {
                accBeta.CopyTo(gba.AsSpan(gbo + c0, w));
            }
        });
    }
}
