// LayerNorm over the last axis with PyTorch semantics and its backward rule.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// (x - mean) / sqrt(var + eps) * gamma + beta over the last axis, var biased (divide by D), as torch LayerNorm.
    /// gamma/beta are [D] or null (no scale / no shift). Backward computes only the gradients of inputs that require them.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, Tensor? gamma, Tensor? beta, float eps)
    {
        if (x.Rank < 1)
        {
            throw new ShapeMismatchException("layer_norm", $"input {Shapes.Format(x.Shape)} must have rank >= 1");
        }
        var d = x.Shape[^1];
        CheckAffine("layer_norm", x, gamma, "gamma");
        CheckAffine("layer_norm", x, beta, "beta");
        var rows = d == 0 ? 0 : (int)(x.Numel / d);
        var xd = ContiguousF32Input(x);
        var gd = gamma is null ? null : ContiguousF32Input(gamma);
        var bd = beta is null ? null : ContiguousF32Input(beta);
        var y = Tensor.Empty(x.Shape, DType.F32, x.Backend);
        var mean = Tensor.Empty([rows], DType.F32, x.Backend);
        var rstd = Tensor.Empty([rows], DType.F32, x.Backend);
        x.Backend.LayerNormForward(xd, gd, bd, eps, y, mean, rstd);
        if (bd is not null)
        {
            DisposeUnless(bd, beta!);
        }
        var inputs = InputList(x, gamma, beta);
        if (Tape.ShouldRecord(inputs))
        {
            Tape.Record(y, "layer_norm", inputs, g =>
            {
                var gy = ContiguousF32Input(g);
                var gx = x.RequiresGrad ? Tensor.Empty(x.Shape, DType.F32, x.Backend) : null;
                var gGamma = gamma is not null && gamma.RequiresGrad ? Tensor.Empty([d], DType.F32, x.Backend) : null;
                var gBeta = beta is not null && beta.RequiresGrad ? Tensor.Empty([d], DType.F32, x.Backend) : null;
                x.Backend.LayerNormBackward(xd, gd, mean, rstd, gy, gx, gGamma, gBeta);
                DisposeUnless(gy, g);
                return AffineGrads(gx, gamma, gGamma, beta, gBeta);
            }, gd is null ? [xd, mean, rstd] : [xd, gd, mean, rstd]);
        }
        DisposeUnless(xd, x);
        if (gd is not null)
        {
            DisposeUnless(gd, gamma!);
        }
        mean.Dispose();
        rstd.Dispose();
        return y;
    }

    private static void CheckAffine(string op, Tensor x, Tensor? p, string what)
    {
        if (p is null)
        {
            return;
        }
        CheckSameBackend(op, x, p);
        if (p.Rank != 1 || p.Shape[0] != x.Shape[^1])
        {
            throw new ShapeMismatchException(op, x.Shape, p.Shape, $"input [..., D] vs {what} [D]");
        }
    }

    /// <summary>The non-null tensors among (x, a, b), in order: the inputs a tape node records.</summary>
    private static Tensor[] InputList(Tensor x, Tensor? a, Tensor? b) =>
        (a, b) switch
        {
            (null, null) => [x],
            (not null, null) => [x, a],
            (null, not null) => [x, b],
            _ => [x, a!, b!],
        };

    /// <summary>Gradients in the order of <see cref="InputList"/>.</summary>
    private static Tensor?[] AffineGrads(Tensor? gx, Tensor? a, Tensor? ga, Tensor? b, Tensor? gb) =>
        (a, b) switch
        {
            (null, null) => [gx],
            (not null, null) => [gx, ga],
            (null, not null) => [gx, gb],
            _ => [gx, ga, gb],
        };

    /// <summary>t itself when it is dense F32, else a dense F32 copy (no tape): the input form kernels accept.</summary>
    private static Tensor ContiguousF32Input(Tensor t) => t.IsContiguous && t.DType == DType.F32 ? t : t.ToContiguousF32();
}
