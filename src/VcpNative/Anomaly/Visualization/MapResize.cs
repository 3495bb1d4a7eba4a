// A square model-resolution anomaly map resized to an image's own size, for overlays and masks laid over the original.
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Visualization;

/// <summary>PyTorch's bilinear interpolation (align_corners=False) of a [size, size] map to [height, width], on the CPU.</summary>
public static class MapResize
{
    /// <summary>
    /// The map resized to [<paramref name="height"/>, <paramref name="width"/>] (row-major, a new array); the map itself
    /// (copied) when the size is already that.
    /// </summary>
    /// <param name="map">float32 [size, size], row-major.</param>
    /// <param name="size">Side of the square map.</param>
    /// <param name="width">Width wanted.</param>
    /// <param name="height">Height wanted.</param>
    public static float[] ToSize(ReadOnlySpan<float> map, int size, int width, int height)
    {
        if (map.Length != size * size)
        {
            throw new ArgumentException($"map has {map.Length} values, not {size}x{size}", nameof(map));
        }
        if (width == size && height == size)
        {
            return map.ToArray();
        }
        using var square = Tensor.FromArray(map.ToArray(), [1, 1, size, size]);
        using var resized = Ops.ResizeBilinear(square, height, width, alignCorners: false);
        return resized.ToArray();
    }
}
