// Convolutions as unfold + GEMM: the ViT patch embedding (Conv2d, stride == kernel) and stride-1 Conv1d.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Conv2d with stride == kernel size P and no padding (ViT patch embedding): x [B, C, H, W], weight [O, C, P, P],
    /// bias [O] or null, result [B, O, H/P, W/P]. H and W are floored as in PyTorch (trailing rows/columns ignored).
    /// </summary>
    public static Tensor Conv2dPatch(Tensor x, Tensor weight, Tensor? bias)
    {
        const string op = "conv2d_patch";
        CheckSameBackend(op, x, weight);
        if (x.Rank != 4 || weight.Rank != 4 || weight.Shape[2] != weight.Shape[3] || x.Shape[1] != weight.Shape[1])
        {
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, "input [B, C, H, W] vs weight [O, C, P, P]");
        }
        var (b, c, h, w) = (x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]);
        var (o, p) = (weight.Shape[0], weight.Shape[2]);
        if (p < 1 || h < p || w < p)
        {
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, $"kernel {p}x{p} larger than the {h}x{w} input");
        }
        CheckConvBias(op, weight, bias);
        var (hp, wp) = (h / p, w / p);
        var xd = ContiguousF32Input(x);
        var cols = Tensor.Empty([b, c * p * p, hp * wp], DType.F32, x.Backend);
        x.Backend.PatchUnfold(xd, p, cols);
        DisposeUnless(xd, x);
        var result = ConvAsGemm(op, x, weight, bias, cols, [b, o, hp, wp], (gCols, gx) => gx.Backend.PatchFold(gCols, p, gx));
        cols.Dispose();
        return result;
    }

    /// <summary>
    /// Conv1d, stride 1, symmetric zero <paramref name="padding"/>: x [B, Cin, L], weight [Cout, Cin, K], bias [Cout] or
    /// null, result [B, Cout, L + 2 padding - K + 1]. K = 1 without padding is a per-position linear layer: one GEMM, no unfold.
    /// </summary>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias, int padding)
    {
        const string op = "conv1d";
        CheckSameBackend(op, x, weight);
        if (x.Rank != 3 || weight.Rank != 3 || x.Shape[1] != weight.Shape[1])
        {
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, "input [B, Cin, L] vs weight [Cout, Cin, K]");
        }
        var (b, cin, l) = (x.Shape[0], x.Shape[1], x.Shape[2]);
        var (cout, k) = (weight.Shape[0], weight.Shape[2]);
        var lout = l + 2 * padding - k + 1;
        if (padding < 0 || k < 1 || lout < 1)
        {
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, $"kernel {k} with padding {padding} leaves no output positions");
        }
        CheckConvBias(op, weight, bias);
        Tensor cols;
        var xd = ContiguousF32Input(x);
        if (k == 1 && padding == 0)
        {
            cols = ReferenceEquals(xd, x) ? x.View(x.ShapeArray, x.StridesArray, x.Offset) : xd;
        }
        else
        {
            cols = Tensor.Empty([b, cin * k, lout], DType.F32, x.Backend);
            x.Backend.Conv1dUnfold(xd, k, padding, cols);
            DisposeUnless(xd, x);
        }
        var result = ConvAsGemm(op, x, weight, bias, cols, [b, cout, lout], (gCols, gx) =>
        {
            if (k == 1 && padding == 0)
            {
                gx.Backend.Copy(gCols, gx);
            }
            else
            {
                gx.Backend.Conv1dFold(gCols, k, padding, gx);
            }
        });
        cols.Dispose();
        return result;
    }

    private static void CheckConvBias(string op, Tensor weight, Tensor? bias)
    {
        if (bias is null)
        {
            return;
        }
        CheckSameBackend(op, weight, bias);
        if (bias.Rank != 1 || bias.Shape[0] != weight.Shape[0])
        {
            throw new ShapeMismatchException(op, weight.Shape, bias.Shape, "weight [O, ...] vs bias [O]");
        }
    }

    /// <summary>
    /// result [B, O, N...] = weight as [O, Kd] @ cols [B, Kd, N] + bias, and the backward rule shared by both convolutions:
    /// dW = sum_b g_b cols_b^T, dCols = W^T g then <paramref name="fold"/> into dx, dBias = sum of g over B and N.
    /// </summary>
    private static Tensor ConvAsGemm(string op, Tensor x, Tensor weight, Tensor? bias, Tensor cols, int[] outShape, Action<Tensor, Tensor> fold)
    {
        var (b, o, kd, n) = (cols.Shape[0], weight.Shape[0], cols.Shape[1], cols.Shape[2]);
        if (kd != weight.Numel / Math.Max(1, o))
        {
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, "unfolded input vs weight size");
        }
        var result = Tensor.Empty(outShape, DType.F32, x.Backend);
        var wd = ContiguousF32Input(weight);
        var w2 = wd.View([o, kd], [kd, 1], wd.Offset);
        using (Tape.NoGrad())
        using (var out3 = result.View([b, o, n], [(long)o * n, n, 1], result.Offset))
        {
            var beta = 0f;
            if (bias is not null)
            {
                using var column = Reshape(bias, o, 1);
                using var broadcast = ExpandF32(column, [b, o, n]);
                x.Backend.Copy(broadcast, out3);
                beta = 1f;
            }
            x.Backend.MatMul(w2, false, cols, false, out3, 1f, beta);
        }
        var inputs = InputList(x, weight, bias);
        if (Tape.ShouldRecord(inputs))
        {
            var weightShape = weight.ShapeArray;
            Tape.Record(result, op, inputs, g =>
            {
                using var g3 = Reshape(g, b, o, n);
                Tensor? gx = null;
                Tensor? gw = null;
                Tensor? gb = null;
                if (weight.RequiresGrad)
                {
                    using var perBatch = MatMul(g3, cols, transB: true);
                    using var summed = SumToShape(perBatch, [o, kd]);
                    gw = Reshape(summed, weightShape);
                }
                if (x.RequiresGrad)
                {
                    using var gCols = MatMul(w2, g3, transA: true);
                    gx = Tensor.Empty(x.Shape, DType.F32, x.Backend);
                    fold(gCols, gx);
                }
                if (bias is not null && bias.RequiresGrad)
                {
                    gb = Sum(g3, [0, 2]);
                }
                return AffineGrads(gx, weight, gw, bias, gb);
            }, w2, cols);
        }
        w2.Dispose();
        DisposeUnless(wd, weight);
        return result;
    }
}
