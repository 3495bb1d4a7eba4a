// Top-k along the last axis (values and I32 indices) with the scatter of the value gradient.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// The k largest (or smallest) entries of each row of the last axis, best first, and their positions as an I32
    /// tensor. Ties: the lower index comes first (and -0 equals +0). NaN counts as larger than every number, as in
    /// torch.topk: listed first when largest, last when smallest. Backward sends each value's gradient to its position.
    /// </summary>
    public static (Tensor Values, Tensor Indices) TopK(Tensor x, int k, bool largest = true)
    {
        if (x.Rank < 1 || k < 0 || k > x.Shape[^1])
        {
            throw new ShapeMismatchException("topk", $"k={k} out of range for input {Shapes.Format(x.Shape)} (need 0 <= k <= last axis)");
        }
        var outShape = x.ShapeArray.ToArray();
        outShape[^1] = k;
        var values = Tensor.Empty(outShape, DType.F32, x.Backend);
        var indices = Tensor.Empty(outShape, DType.I32, x.Backend);
        var xd = ContiguousF32Input(x);
        if (k > 0)
        {
            x.Backend.TopKForward(xd, k, largest, values, indices);
        }
        DisposeUnless(xd, x);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(values, "topk", [x], g =>
            {
                var gv = ContiguousF32Input(g);
                var gx = Tensor.Zeros(x.Shape, DType.F32, x.Backend);
                x.Backend.TopKBackward(indices, gv, gx);
                DisposeUnless(gv, g);
                return [gx];
            }, indices);
        }
        return (values, indices);
    }
}
