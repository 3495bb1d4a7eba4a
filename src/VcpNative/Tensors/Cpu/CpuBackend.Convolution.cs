// CPU im2col/col2im for the patch-embedding Conv2d (stride == kernel) and the stride-1 Conv1d; the GEMM does the rest.
namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void PatchUnfold(Tensor x, int patch, Tensor cols)
    {
        var (b, c, h, w) = (x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]);
        var (hp, wp) = (h / patch, w / patch);
        var (xa, xo) = DenseArray(x);
        var (ca, co) = DenseArray(cols);
        var positions = hp * wp;
        // One task per (batch, channel, kernel row): it reads P image rows per patch row and writes P cols rows.
        CpuParallel.For(b * c * patch, task =>
        {
            var ky = task % patch;
            var plane = task / patch;
            var src = xo + (long)plane * h * w;
            for (var kx = 0; kx < patch; kx++)
            {
                var dst = co + PatchColsRow(task, patch, kx) * positions;
                for (var i = 0; i < hp; i++)
                {
                    var rowStart = src + (long)(i * patch + ky) * w + kx;
                    var d = dst + (long)i * wp;
                    for (var j = 0; j < wp; j++)
                    {
                        ca[d + j] = xa[rowStart + (long)j * patch];
                    }
                }
            }
        });
    }

    /// <inheritdoc/>
    public void PatchFold(Tensor cols, int patch, Tensor gx)
    {
        var (b, c, h, w) = (gx.Shape[0], gx.Shape[1], gx.Shape[2], gx.Shape[3]);
        var (hp, wp) = (h / patch, w / patch);
        var (xa, xo) = DenseArray(gx);
        var (ca, co) = DenseArray(cols);
        var positions = hp * wp;
        var covered = hp * patch;
        CpuParallel.For(b * c * patch, task =>
        {
            var ky = task % patch;
            var plane = task / patch;
            var dstPlane = xo + (long)plane * h * w;
            // This task owns image rows ky, ky+P, ...; rows past the last full patch (floored away) belong to ky's
            // task too when they are congruent to ky, so every row is cleared or written by exactly one task.
            for (var row = covered + ky; row < h; row += patch)
            {
                xa.AsSpan((int)(dstPlane + (long)row * w), w).Clear();
            }
            for (var i = 0; i < hp; i++)
            {
                var rowStart = dstPlane + (long)(i * patch + ky) * w;
                xa.AsSpan((int)(rowStart + wp * patch), w - wp * patch).Clear();
                for (var kx = 0; kx < patch; kx++)
                {
                    var s = co + PatchColsRow(task, patch, kx) * positions + (long)i * wp;
                    for (var j = 0; j < wp; j++)
                    {
                        xa[rowStart + (long)j * patch + kx] = ca[s + j];
                    }
                }
            }
        });
    }

    /// <summary>
    /// Row of cols [B, C·P·P, positions] that holds kernel offset (ky, kx) of image plane (b, c), for task = (b·C + c)·P + ky:
    /// row = ((b·C + c)·P + ky)·P + kx, the channel-major (c, ky, kx) order of Conv2d's weight.
    /// </summary>
    private static long PatchColsRow(int task, int patch, int kx) => (long)task * patch + kx;

    /// <summary>
    /// Tap k of a stride-1 Conv1d reads input position t + shift for output t (shift = k - padding); only outputs
    /// [T0, T1) of the lout land inside the l real inputs, the rest read zero padding.
    /// </summary>
    private static (int Shift, int T0, int T1) Conv1dTapWindow(int k, int padding, int l, int lout)
    {
        var shift = k - padding;
        var t0 = Math.Clamp(-shift, 0, lout);
        return (shift, t0, Math.Clamp(l - shift, t0, lout));
    }

    /// <inheritdoc/>
    public void Conv1dUnfold(Tensor x, int kernel, int padding, Tensor cols)
    {
        var (b, cin, l) = (x.Shape[0], x.Shape[1], x.Shape[2]);
        var lout = cols.Shape[2];
        var (xa, xo) = DenseArray(x);
        var (ca, co) = DenseArray(cols);
        CpuParallel.ForRange(b * cin, (start, end) =>
        {
            for (var plane = start; plane < end; plane++)
            {
                var src = xa.AsSpan(xo + plane * l, l);
                for (var k = 0; k < kernel; k++)
                {
                    // cols row (plane, k) is x shifted by k - padding: a contiguous copy with zero margins.
                    var dst = ca.AsSpan(co + (plane * kernel + k) * lout, lout);
                    var (shift, t0, t1) = Conv1dTapWindow(k, padding, l, lout);
                    dst[..t0].Clear();
                    src.Slice(t0 + shift, t1 - t0).CopyTo(dst[t0..t1]);
                    dst[t1..].Clear();
                }
            }
        }, minChunk: RowsPerChunk(kernel * lout, 16384));
    }

    /// <inheritdoc/>
    public void Conv1dFold(Tensor cols, int kernel, int padding, Tensor gx)
    {
        var (b, cin, l) = (gx.Shape[0], gx.Shape[1], gx.Shape[2]);
        var lout = cols.Shape[2];
        var (xa, xo) = DenseArray(gx);
        var (ca, co) = DenseArray(cols);
        CpuParallel.ForRange(b * cin, (start, end) =>
        {
            for (var plane = start; plane < end; plane++)
            {
                var dst = xa.AsSpan(xo + plane * l, l);
                dst.Clear();
                for (var k = 0; k < kernel; k++)
                {
                    // gx[s] += cols[plane, k, s - shift] for the s whose source position lies in [0, lout).
                    var src = ca.AsSpan(co + (plane * kernel + k) * lout, lout);
                    var (shift, t0, t1) = Conv1dTapWindow(k, padding, l, lout);
                    var target = dst.Slice(t0 + shift, t1 - t0);
                    System.Numerics.Tensors.TensorPrimitives.Add(target, src[t0..t1], target);
                }
            }
        }, minChunk: RowsPerChunk(kernel * lout, 16384));
    }
}
