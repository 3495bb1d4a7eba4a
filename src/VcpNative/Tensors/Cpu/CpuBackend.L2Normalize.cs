// CPU L2 normalisation over the last axis (no epsilon): rows in parallel, norms accumulated in double.
using System.Numerics.Tensors;

namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    public void L2NormalizeForward(Tensor x, Tensor y, Tensor norm)
    {
        var d = x.Shape[^1];
        var rows = d == 0 ? 0 : (int)(x.Numel / d);
        _ = Dense(x);
        _ = Dense(y);
        _ = Dense(norm);
        var xa = Cpu(x).Floats;
        var xo = (int)x.Offset;
        var ya = Cpu(y).Floats;
        var yo = (int)y.Offset;
        var na = Cpu(norm).Floats;
        var no = (int)norm.Offset;
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
        }, minChunk: Math.Max(1, 8192 / Math.Max(1, d)));
    }

    public void L2NormalizeBackward(Tensor y, Tensor norm, Tensor gy, Tensor gx)
    {
        var d = y.Shape[^1];
        var rows = d == 0 ? 0 : (int)(y.Numel / d);
        _ = Dense(y);
        _ = Dense(gy);
        _ = Dense(gx);
        _ = Dense(norm);
        var ya = Cpu(y).Floats;
        var yo = (int)y.Offset;
        var ga = Cpu(gy).Floats;
        var go = (int)gy.Offset;
        var xa = Cpu(gx).Floats;
        var xo = (int)gx.Offset;
        var na = Cpu(norm).Floats;
        var no = (int)norm.Offset;
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
        }, minChunk: Math.Max(1, 8192 / Math.Max(1, d)));
    }
}
