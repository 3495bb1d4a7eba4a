// Matrix products: batched matmul with broadcasting and the fused linear layer, with their backward rules.
using VcpNative.Tensors.Autograd;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Batched op(a) @ op(b): a [..., M, K], b [..., K, N] (transposes swap the last two axes); batch axes broadcast.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        CheckSameBackend("matmul", a, b);
        if (a.Rank < 2 || b.Rank < 2)
        {
            throw new ShapeMismatchException("matmul", a.Shape, b.Shape, "operands need rank >= 2");
        }
        var (m, ka) = transA ? (a.Shape[^1], a.Shape[^2]) : (a.Shape[^2], a.Shape[^1]);
        var (kb, n) = transB ? (b.Shape[^1], b.Shape[^2]) : (b.Shape[^2], b.Shape[^1]);
        if (ka != kb)
        {
            throw new ShapeMismatchException("matmul", a.Shape, b.Shape, $"inner dimensions differ ({ka} vs {kb}, transA={transA}, transB={transB})");
        }
        var batch = Shapes.Broadcast("matmul", a.Shape[..^2], b.Shape[..^2]);
        var outShape = new int[batch.Length + 2];
        batch.CopyTo(outShape, 0);
        outShape[^2] = m;
        outShape[^1] = n;
        var result = Tensor.Empty(outShape, DType.F32, a.Backend);
        using (Tape.NoGrad())
        {
            var ad = GemmReady(a);
            // A BF16 B the backend reads directly (GPU tensor-core precision) stays compressed.
            var bd = b.Backend.ReadsBf16Operand(b) ? b : GemmReady(b);
            a.Backend.MatMul(ad, transA, bd, transB, result, 1f, 0f);
            DisposeUnless(ad, a);
            DisposeUnless(bd, b);
        }
        if (Tape.ShouldRecord(a, b))
        {
            var aShape = a.ShapeArray;
            var bShape = b.ShapeArray;
            Tape.Record(result, "matmul", [a, b], g =>
            {
                Tensor? ga = null;
                Tensor? gb = null;
                if (a.RequiresGrad)
                {
                    // C = A B: dA = dC B^T; with A stored transposed, dA^T = B dC^T.
                    ga = transA ? MatMul(b, g, transB, true) : MatMul(g, b, false, !transB);
                    ga = SumToShape(ga, aShape);
                }
                if (b.RequiresGrad)
                {
                    gb = transB ? MatMul(g, a, true, transA) : MatMul(a, g, !transA, false);
                    gb = SumToShape(gb, bShape);
                }
                return [ga, gb];
            });
        }
        return result;
    }

    /// <summary>
    /// y = x W^T + b with x [..., K], W [N, K] (PyTorch Linear layout), b [N] or null. A frozen W (no RequiresGrad)
    /// gets no weight-gradient work in backward.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var result = LinearNoTape(x, weight, bias, LinearActivation.None);
        var n = weight.Shape[0];
        var k = weight.Shape[1];
        var rows = (int)(x.Numel / Math.Max(1, k));
        var inputs = bias is null ? new[] { x, weight } : new[] { x, weight, bias };
        if (Tape.ShouldRecord(inputs))
        {
            var xShape = x.ShapeArray;
            Tape.Record(result, "linear", inputs, g =>
            {
                using var g2 = Reshape(g, rows, n);
                Tensor? gx = null;
                Tensor? gw = null;
                Tensor? gb = null;
                if (x.RequiresGrad)
                {
                    using var gx2 = MatMul(g2, weight);
                    gx = Reshape(gx2, xShape);
                }
                if (weight.RequiresGrad)
                {
                    using var x2 = Reshape(x, rows, k);
                    gw = MatMul(g2, x2, transA: true);
                }
                if (bias is not null && bias.RequiresGrad)
                {
                    gb = Sum(g2, [0]);
                }
                return bias is null ? [gx, gw] : [gx, gw, gb];
            });
        }
        return result;
    }

    /// <summary>
    /// act(x W^T + b). Without a tape the bias and activation run inside the product (one pass over the output, e.g.
    /// the 1370 x 4096 MLP hidden of ViT-L/14 at 518 px); when recording, it is Linear then the activation op, so the
    /// backward rules are the existing ones.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, LinearActivation activation)
    {
        if (activation == LinearActivation.None)
        {
            return Linear(x, weight, bias);
        }
        var inputs = bias is null ? new[] { x, weight } : new[] { x, weight, bias };
        if (Tape.ShouldRecord(inputs))
        {
            using var linear = Linear(x, weight, bias);
            return activation == LinearActivation.Gelu ? Gelu(linear) : QuickGelu(linear);
        }
        return LinearNoTape(x, weight, bias, activation);
    }

    /// <summary>The forward product act(x W^T + b) through the backend's fused kernel, recording nothing.</summary>
    private static Tensor LinearNoTape(Tensor x, Tensor weight, Tensor? bias, LinearActivation activation)
    {
        CheckSameBackend("linear", x, weight);
        if (weight.Rank != 2 || x.Rank < 1 || x.Shape[^1] != weight.Shape[1])
        {
            throw new ShapeMismatchException("linear", x.Shape, weight.Shape, "input [..., K] vs weight [N, K]");
        }
        var n = weight.Shape[0];
        var k = weight.Shape[1];
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != n))
        {
            throw new ShapeMismatchException("linear", weight.Shape, bias.Shape, "weight [N, K] vs bias [N]");
        }
        var rows = (int)(x.Numel / Math.Max(1, k));
        var outShape = x.ShapeArray.ToArray();
        outShape[^1] = n;
        var result = Tensor.Empty(outShape, DType.F32, x.Backend);
        using (Tape.NoGrad())
        {
            var xd = x.IsContiguous && x.DType == DType.F32 ? x : x.ToContiguousF32();
            // bf16 / int8 weights the backend reads directly stay compressed; anything else is widened here.
            var wd = weight.Backend.ReadsLinearWeightInPlace(weight)
                ? weight
                : GemmReady(weight);
            var bd = bias is null || (bias.IsContiguous && bias.DType == DType.F32) ? bias : bias.ToContiguousF32();
            using (var x2 = xd.View([rows, k], [k, 1], xd.Offset))
            using (var y2 = result.View([rows, n], [n, 1], result.Offset))
            {
                x.Backend.LinearForward(x2, wd, bd, y2, activation);
            }
            DisposeUnless(xd, x);
            DisposeUnless(wd, weight);
            if (bd is not null)
            {
                DisposeUnless(bd, bias!);
            }
        }
        return result;
    }

    /// <summary>x itself when GEMM can read it in place (one unit stride in its last two axes), else a dense copy.</summary>
    private static Tensor GemmReady(Tensor t) =>
        t.DType == DType.F32 && t.Backend.ReadsGemmOperandInPlace(t) ? t : t.ToContiguousF32();

    private static void DisposeUnless(Tensor maybeCopy, Tensor original)
    {
        if (!ReferenceEquals(maybeCopy, original))
        {
            maybeCopy.Dispose();
        }
    }
}
