// How a matrix view maps onto a BLAS-style GEMM operand; shared by every backend's matmul.
namespace VcpNative.Tensors;

/// <summary>Row-major (unit last stride) or column-major (unit second-to-last stride, transpose flipped) views need no copy.</summary>
public static class MatrixLayout
{
    /// <summary>
    /// The transpose flag and leading dimension under which GEMM reads the last two axes of <paramref name="t"/> in
    /// place; false when neither axis has unit stride (the caller copies it dense first).
    /// </summary>
    public static bool TryGemmOperand(Tensor t, bool trans, out bool effectiveTrans, out int ld)
    {
        var rows = t.Shape[^2];
        var cols = t.Shape[^1];
        var rs = t.Strides[^2];
        var cs = t.Strides[^1];
        if (cs == 1 || cols == 1)
        {
            var l = rows == 1 ? Math.Max(1, cols) : rs;
            if (l >= cols && l <= int.MaxValue)
            {
                effectiveTrans = trans;
                ld = (int)l;
                return true;
            }
        }
        if (rs == 1 || rows == 1)
        {
            var l = cols == 1 ? Math.Max(1, rows) : cs;
            if (l >= rows && l <= int.MaxValue)
            {
                effectiveTrans = !trans;
                ld = (int)l;
                return true;
            }
        }
        effectiveTrans = trans;
        ld = 0;
        return false;
    }
}
