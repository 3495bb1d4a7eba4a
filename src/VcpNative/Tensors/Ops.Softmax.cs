// Softmax over the last axis with an additive mask and causal masking, and its backward rule.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// softmax(x + additiveMask) over the last axis. The mask broadcasts to x (e.g. [L, L] for [B, H, L, L]).
    /// With <paramref name="causal"/>, query i of the last two axes [Lq, Lk] sees keys j &lt;= i only
    /// (torch.tril(ones(Lq, Lk)) alignment). A row whose visible logits are all -inf gives NaN, as PyTorch does.
    /// The mask gets a gradient too when it requires one.
    /// </summary>
    public static Tensor Softmax(Tensor x, Tensor? additiveMask = null, bool causal = false)
    {
        if (x.Rank < 1 || (causal && x.Rank < 2))
        {
            throw new ShapeMismatchException("softmax", $"input {Shapes.Format(x.Shape)} needs rank >= {(causal ? 2 : 1)}{(causal ? " for causal masking" : "")}");
        }
        Tensor? maskView = null;
        if (additiveMask is not null)
        {
            CheckSameBackend("softmax", x, additiveMask);
            var broadcast = Shapes.Broadcast("softmax", x.Shape, additiveMask.Shape);
            if (!Shapes.SameShape(broadcast, x.Shape))
            {
                throw new ShapeMismatchException("softmax", x.Shape, additiveMask.Shape, "mask must broadcast to the input shape");
            }
            using (Tape.NoGrad())
            {
                maskView = ExpandF32(additiveMask, x.ShapeArray);
            }
        }
        var xd = ContiguousF32Input(x);
        var y = Tensor.Empty(x.Shape, DType.F32, x.Backend);
        x.Backend.SoftmaxForward(xd, maskView, causal, y);
        DisposeUnless(xd, x);
        maskView?.Dispose();
        Tensor[] inputs = additiveMask is null ? [x] : [x, additiveMask];
        if (Tape.ShouldRecord(inputs))
        {
            Tape.Record(y, "softmax", inputs, g =>
            {
                var gy = ContiguousF32Input(g);
                var gx = Tensor.Empty(x.Shape, DType.F32, x.Backend);
                x.Backend.SoftmaxBackward(y, gy, gx);
                DisposeUnless(gy, g);
                if (additiveMask is null)
                {
                    return [gx];
                }
                // d(x + mask) flows equally to both; the mask's share is summed over its broadcast axes.
                Tensor? gMask = null;
                if (additiveMask.RequiresGrad)
                {
                    gMask = Shapes.SameShape(additiveMask.Shape, x.Shape) ? CopyOf(gx) : SumToShape(gx, additiveMask.Shape);
                }
                return [x.RequiresGrad ? gx : null, gMask];
            });
        }
        return y;
    }
}
