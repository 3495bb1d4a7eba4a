// L2 normalisation over the last axis without epsilon (PyTorch x / x.norm(dim=-1, keepdim=True)), with backward.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>x / ||x||_2 over the last axis. No epsilon: a zero row gives NaN, exactly like the PyTorch expression.</summary>
    public static Tensor L2Normalize(Tensor x)
    {
        if (x.Rank < 1)
        {
            throw new ShapeMismatchException("l2_normalize", $"input {Shapes.Format(x.Shape)} must have rank >= 1");
        }
        var d = x.Shape[^1];
        var rows = d == 0 ? 0 : (int)(x.Numel / d);
        var xd = ContiguousF32Input(x);
        var y = Tensor.Empty(x.Shape, DType.F32, x.Backend);
        var norm = Tensor.Empty([rows], DType.F32, x.Backend);
        x.Backend.L2NormalizeForward(xd, y, norm);
        DisposeUnless(xd, x);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(y, "l2_normalize", [x], g =>
            {
                var gy = ContiguousF32Input(g);
                var gx = Tensor.Empty(x.Shape, DType.F32, x.Backend);
                x.Backend.L2NormalizeBackward(y, norm, gy, gx);
                DisposeUnless(gy, g);
                return [gx];
            }, norm);
        }
        norm.Dispose();
        return y;
    }
}
