// Separable 2-D resampling ops (PyTorch bilinear and antialiased bicubic resize, scipy Gaussian blur) with backward.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// PyTorch <c>F.interpolate(x, (outH, outW), mode='bilinear', align_corners=alignCorners)</c> on the last two
    /// axes of x [..., H, W] (typically [N, C, H, W]).
    /// </summary>
    public static Tensor ResizeBilinear(Tensor x, int outH, int outW, bool alignCorners)
    {
        CheckResizeInput("resize_bilinear", x, outH, outW);
        return Resample2dCore("resize_bilinear", x, ResampleWeights.Bilinear(x.Shape[^2], outH, alignCorners),
            ResampleWeights.Bilinear(x.Shape[^1], outW, alignCorners), heightFirst: false);
    }

    /// <summary>
    /// PyTorch <c>F.interpolate(x, (outH, outW), mode='bicubic', antialias=True, align_corners=False)</c> on the
    /// last two axes of x [..., H, W]: Pillow's a = −0.5 kernel with a clipped, renormalised window.
    /// </summary>
    public static Tensor ResizeBicubicAntialias(Tensor x, int outH, int outW)
    {
        CheckResizeInput("resize_bicubic_antialias", x, outH, outW);
        return Resample2dCore("resize_bicubic_antialias", x, ResampleWeights.BicubicAntialias(x.Shape[^2], outH),
            ResampleWeights.BicubicAntialias(x.Shape[^1], outW), heightFirst: true);
    }

    /// <summary>
    /// scipy <c>ndimage.gaussian_filter(x, sigma, mode='reflect', truncate)</c> over the last two axes of x [H, W] or
    /// [N, H, W] (every leading axis is a batch axis): H pass then W pass, each accumulated in float64 and rounded
    /// to float32, as scipy does for float32 arrays.
    /// </summary>
    public static Tensor GaussianBlur2d(Tensor x, float sigma, float truncate = 4f)
    {
        if (x.Rank < 2)
        {
            throw new ShapeMismatchException("gaussian_blur2d", $"input {Shapes.Format(x.Shape)} needs rank >= 2 ([..., H, W])");
        }
        if (!(sigma > 0f) || !(truncate >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), $"gaussian_blur2d: sigma must be > 0 and truncate >= 0, got {sigma}, {truncate}");
        }
        return Resample2dCore("gaussian_blur2d", x, ResampleWeights.GaussianReflect(x.Shape[^2], sigma, truncate),
            ResampleWeights.GaussianReflect(x.Shape[^1], sigma, truncate), heightFirst: true);
    }

    /// <summary>
    /// y[..., :, :] = A_H · x[..., :, :] · A_Wᵀ for any pair of 1-D tables (x [..., alongH.InSize, alongW.InSize]).
    /// </summary>
    public static Tensor Resample2d(Tensor x, ResampleWeights alongH, ResampleWeights alongW, bool heightFirst = true) =>
        Resample2dCore("resample2d", x, alongH, alongW, heightFirst);

    private static void CheckResizeInput(string op, Tensor x, int outH, int outW)
    {
        if (x.Rank < 2 || outH < 1 || outW < 1)
        {
            throw new ShapeMismatchException(op, x.Shape, [outH, outW], "input [..., H, W] vs output size [outH, outW]");
        }
    }

    private static Tensor Resample2dCore(string op, Tensor x, ResampleWeights alongH, ResampleWeights alongW, bool heightFirst)
    {
        if (x.Rank < 2 || x.Shape[^2] != alongH.InSize || x.Shape[^1] != alongW.InSize)
        {
            throw new ShapeMismatchException(op, x.Shape, [alongH.InSize, alongW.InSize], "input [..., H, W] vs table input sizes [H, W]");
        }
        var outShape = x.ShapeArray.ToArray();
        outShape[^2] = alongH.OutSize;
        outShape[^1] = alongW.OutSize;
        var input = x.IsContiguous && x.DType == DType.F32 ? x : x.ToContiguousF32();
        var y = Tensor.Empty(outShape, DType.F32, x.Backend);
        x.Backend.Resample2d(input, y, alongH, alongW, heightFirst);
        DisposeUnless(input, x);
        if (Tape.ShouldRecord(x))
        {
            var inputShape = x.ShapeArray;
            Tape.Record(y, op, [x], g =>
            {
                // Adjoint of (first pass, then second pass) is (second transposed, then first transposed).
                var gd = g.IsContiguous && g.DType == DType.F32 ? g : g.ToContiguousF32();
                var gx = Tensor.Empty(inputShape, DType.F32, g.Backend);
                g.Backend.Resample2d(gd, gx, alongH.Transpose(), alongW.Transpose(), !heightFirst);
                DisposeUnless(gd, g);
                return [gx];
            });
        }
        return y;
    }
}
