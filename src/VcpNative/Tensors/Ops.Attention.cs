// Fused scaled-dot-product attention op: shape rules, strided-view handling and the recomputing backward rule.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// softmax(scale · q kᵀ) v with q [B,H,Lq,D], k and v [B,H,Lk,D], giving [B,H,Lq,D]. <paramref name="scale"/>
    /// null means 1/√D; pass 1f for no scaling (VCP's Post-VCP). <paramref name="causal"/> masks keys j &gt; i
    /// (PyTorch's top-left alignment). Views whose last axis has unit stride (heads sliced out of a fused qkv
    /// projection) are read in place; the [Lq, Lk] matrix is never materialised.
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, float? scale = null, bool causal = false)
    {
        const string op = "attention";
        CheckSameBackend(op, q, k);
        CheckSameBackend(op, q, v);
        if (q.Rank != 4 || k.Rank != 4 || v.Rank != 4)
        {
            throw new ShapeMismatchException(op, $"q, k, v must be [B,H,L,D], got q {Shapes.Format(q.Shape)}, k {Shapes.Format(k.Shape)}, v {Shapes.Format(v.Shape)}");
        }
        if (q.Shape[0] != k.Shape[0] || q.Shape[1] != k.Shape[1] || q.Shape[3] != k.Shape[3])
        {
            throw new ShapeMismatchException(op, q.Shape, k.Shape, "q [B,H,Lq,D] vs k [B,H,Lk,D]");
        }
        if (!Shapes.SameShape(k.Shape, v.Shape))
        {
            throw new ShapeMismatchException(op, k.Shape, v.Shape, "k [B,H,Lk,D] vs v [B,H,Lk,D]");
        }
        if (k.Shape[2] == 0 || q.Shape[3] == 0)
        {
            throw new ShapeMismatchException(op, q.Shape, k.Shape, "softmax needs at least one key and D >= 1");
        }
        var s = scale ?? 1f / MathF.Sqrt(q.Shape[3]);
        var qd = AttentionOperand(q);
        var kd = AttentionOperand(k);
        var vd = AttentionOperand(v);
        var output = Tensor.Empty(q.Shape, DType.F32, q.Backend);
        var record = Tape.ShouldRecord([q, k, v]);
        var lse = record ? Tensor.Empty(q.Shape[..3], DType.F32, q.Backend) : null;
        q.Backend.AttentionForward(qd, kd, vd, output, lse, s, causal);
        if (!record)
        {
            DisposeUnless(qd, q);
            DisposeUnless(kd, k);
            DisposeUnless(vd, v);
            return output;
        }
        return Tape.Record(output, op, [q, k, v], g =>
        {
            var gd = g.IsContiguous && g.DType == DType.F32 ? g : g.ToContiguousF32();
            var gq = q.RequiresGrad ? Tensor.Empty(q.Shape, DType.F32, q.Backend) : null;
            var gk = k.RequiresGrad ? Tensor.Empty(k.Shape, DType.F32, k.Backend) : null;
            var gv = v.RequiresGrad ? Tensor.Empty(v.Shape, DType.F32, v.Backend) : null;
            q.Backend.AttentionBackward(qd, kd, vd, output, lse!, gd, gq, gk, gv, s, causal);
            DisposeUnless(gd, g);
            return [gq, gk, gv];
        }, lse!, qd, kd, vd);
    }

    /// <summary>x itself when its last axis has unit stride (any other strides are fine), else a dense F32 copy.</summary>
    private static Tensor AttentionOperand(Tensor x) =>
        x.DType == DType.F32 && (x.Shape[3] == 1 || x.Strides[3] == 1) ? x : x.ToContiguousF32();
}
