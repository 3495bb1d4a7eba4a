// CPU L2 normalisation over the last axis (no epsilon): rows in parallel, norms accumulated in double.
using System.Numerics.Tensors;

namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void L2NormalizeForward(Tensor x, Tensor y, Tensor norm)
    {
        var d = x.Shape[^1];
        var rows = LastAxisRows(x, d);
        var (xa, xo) = DenseArray(x);
        var (ya, yo) = DenseArray(y);
        var (na, no) = DenseArray(norm);
        CpuParallel.ForRange(rows, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                var xr = xa.AsSpan(xo + r * d, d);
                var length = (float)Math.Sqrt(DoubleAccumulation.Dot(xr, xr));
                na[no + r] = length;
                // Division (not multiplication by 1/length) to round like PyTorch's x / x.norm(); a zero row gives NaN.
                TensorPrimitives.Divide(xr, length, ya.AsSpan(yo + r * d, d));
            }
        }, minChunk: RowsPerChunk(d, 8192));
    }

    /// <inheritdoc/>
    public void L2NormalizeBackward(Tensor y, Tensor norm, Tensor gy, Tensor gx)
    {
        var d = y.Shape[^1];
        var rows = LastAxisRows(y, d);
        var (ya, yo) = DenseArray(y);
        var (ga, go) = DenseArray(gy);
        var (xa, xo) = DenseArray(gx);
        var (na, no) = DenseArray(norm);
        CpuParallel.ForRange(rows, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                var yr = ya.AsSpan(yo + r * d, d);
                var gr = ga.AsSpan(go + r * d, d);
                var xr = xa.AsSpan(xo + r * d, d);
                var dot = (float)DoubleAccumulation.Dot(gr, yr);
                TensorPrimitives.MultiplyAdd(yr, -dot, gr, xr);
                TensorPrimitives.Divide(xr, na[no + r], xr);
            }
        }, minChunk: RowsPerChunk(d, 8192));
    }
}
