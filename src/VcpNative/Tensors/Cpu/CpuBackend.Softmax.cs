// CPU softmax over the last axis: rows in parallel, max subtraction for stability, optional additive/causal mask.
using System.Numerics.Tensors;

namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SoftmaxForward(Tensor x, Tensor? mask, bool causal, Tensor y)
    {
        var n = x.Rank == 0 ? 1 : x.Shape[^1];
        var rows = LastAxisRows(x, n);
        var queries = x.Rank >= 2 ? x.Shape[^2] : 1;
        var (xa, xo) = DenseArray(x);
        var (ya, yo) = DenseArray(y);
        var maskRows = mask is null ? default : new RowIterator(mask);
        var maskData = mask is null ? null : Cpu(mask).Floats;
        CpuParallel.ForRange(rows, (start, end) =>
        {
            Span<float> stack = stackalloc float[n <= 4096 ? n : 0];
            var gathered = DoubleAccumulation.Scratch(stack, n);
            for (var r = start; r < end; r++)
            {
                var xr = xa.AsSpan(xo + r * n, n);
                var yr = ya.AsSpan(yo + r * n, n);
                // Causal: query i (position along the second-to-last axis) sees keys 0..i, like tril(ones(Lq, Lk)).
                var visible = causal ? Math.Min(n, r % queries + 1) : n;
                var z = yr[..visible];
                if (maskData is null)
                {
                    xr[..visible].CopyTo(z);
                }
                else
                {
                    var o = maskRows.RowOffset(r);
                    var stride = maskRows.InnerStride;
                    if (stride == 1)
                    {
                        TensorPrimitives.Add(xr[..visible], maskData.AsSpan((int)o, visible), z);
                    }
                    else if (stride == 0)
                    {
                        TensorPrimitives.Add(xr[..visible], maskData[o], z);
                    }
                    else
                    {
                        for (var j = 0; j < visible; j++)
                        {
                            gathered[j] = maskData[o + j * stride];
                        }
                        TensorPrimitives.Add(xr[..visible], gathered[..visible], z);
                    }
                }
                // All -inf: max is -inf, z - max is NaN, so the row is NaN exactly as in PyTorch.
                var max = TensorPrimitives.Max(z);
                TensorPrimitives.Subtract(z, max, z);
                TensorPrimitives.Exp(z, z);
                var sum = (float)DoubleAccumulation.Sum(z);
                TensorPrimitives.Divide(z, sum, z);
                yr[visible..].Clear();
            }
        }, minChunk: RowsPerChunk(n, 8192));
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx)
    {
        var n = y.Rank == 0 ? 1 : y.Shape[^1];
        var rows = LastAxisRows(y, n);
        var (ya, yo) = DenseArray(y);
        var (ga, go) = DenseArray(gy);
        var (xa, xo) = DenseArray(gx);
        CpuParallel.ForRange(rows, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                var yr = ya.AsSpan(yo + r * n, n);
                var gr = ga.AsSpan(go + r * n, n);
                var xr = xa.AsSpan(xo + r * n, n);
                var dot = (float)DoubleAccumulation.Dot(gr, yr);
                TensorPrimitives.Subtract(gr, dot, xr);
                TensorPrimitives.Multiply(xr, yr, xr);
            }
        }, minChunk: RowsPerChunk(n, 8192));
    }
}
