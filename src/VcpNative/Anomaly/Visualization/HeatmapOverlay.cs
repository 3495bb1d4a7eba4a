// Renders an anomaly map as a colour heatmap blended over the image, and a binary mask, for people to look at.
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Visualization;

/// <summary>Jet-style colours on a fixed scale (by default [0, 1]).</summary>
public static class HeatmapOverlay
{
    /// <summary>
    /// Blends the map's colours over the image. Values map to colours on [low, high] (default [0, 1], so overlays of
    /// different images are comparable); pass the map's own range to stretch a faint map.
    /// </summary>
    public static RgbImage Render(RgbImage image, ReadOnlySpan<float> map, float opacity = 0.5f, float low = 0f, float high = 1f)
    {
        if (map.Length != image.Width * image.Height)
        {
            throw new ArgumentException($"map has {map.Length} values, image {image.Width}x{image.Height} has {image.Width * image.Height} pixels");
        }
        var result = new RgbImage(image.Width, image.Height);
        var src = image.Pixels;
        var dst = result.Pixels;
        for (var i = 0; i < map.Length; i++)
        {
            var (r, g, b) = Jet(high > low ? (map[i] - low) / (high - low) : 0f);
            dst[3 * i] = Blend(src[3 * i], r, opacity);
            dst[3 * i + 1] = Blend(src[3 * i + 1], g, opacity);
            dst[3 * i + 2] = Blend(src[3 * i + 2], b, opacity);
        }
        return result;
    }

    /// <summary>A binary mask: 255 where the map is above <paramref name="threshold"/>, else 0.</summary>
    public static GreyImage Mask(ReadOnlySpan<float> map, int width, int height, float threshold)
    {
        var mask = new GreyImage(width, height);
        for (var i = 0; i < map.Length; i++)
        {
            mask.Pixels[i] = map[i] > threshold ? (byte)255 : (byte)0;
        }
        return mask;
    }

    private static byte Blend(byte under, float over, float opacity) =>
        (byte)Math.Clamp(MathF.Round(under * (1 - opacity) + over * 255f * opacity), 0, 255);

    /// <summary>The classic jet colour map: blue (0) -> cyan -> yellow -> red (1).</summary>
    private static (float R, float G, float B) Jet(float v)
    {
        v = float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 1f);
        float Channel(float offset) => Math.Clamp(1.5f - MathF.Abs(4f * v - offset), 0f, 1f);
        return (Channel(3f), Channel(2f), Channel(1f));
    }
}
