// Resizes the vision position embedding from its native grid to the grid of the input size.
using VcpNative.Tensors;

namespace VcpNative.Models.Clip;

/// <summary>How the position grid is resampled: VCP-CLIP uses antialiased bicubic at load, ViP2-CLIP bilinear.</summary>
public enum PositionResizeMode
{
    /// <summary>torch interpolate(bicubic, antialias=True, align_corners=False) (VCP-CLIP).</summary>
    BicubicAntialias,
    /// <summary>torch interpolate(bilinear, align_corners=False) (ViP2-CLIP).</summary>
    Bilinear,
}

/// <summary>Resizes CLIP's vision position embedding to another patch grid.</summary>
public static class PositionEmbeddingResize
{
    /// <summary>pos [1 + g0^2, W] -> [1 + g^2, W]; the class-token row is kept as is.</summary>
    public static Tensor Resize(Tensor pos, int grid, PositionResizeMode mode)
    {
        var width = pos.Shape[1];
        var g0 = (int)Math.Round(Math.Sqrt(pos.Shape[0] - 1));
        if (g0 == grid)
        {
            return Ops.CopyOf(pos);
        }
        using var scope = new TensorScope();
        var cls = Ops.Narrow(pos, 0, 0, 1);
        var cells = Ops.Reshape(Ops.Narrow(pos, 0, 1, g0 * g0), 1, g0, g0, width);
        var image = Ops.Contiguous(Ops.Permute(cells, 0, 3, 1, 2));
        var resized = mode == PositionResizeMode.BicubicAntialias
            ? Ops.ResizeBicubicAntialias(image, grid, grid)
            : Ops.ResizeBilinear(image, grid, grid, alignCorners: false);
        var back = Ops.Reshape(Ops.Contiguous(Ops.Permute(resized, 0, 2, 3, 1)), grid * grid, width);
        return scope.Keep(Ops.Concat([cls, back], 0));
    }
}
