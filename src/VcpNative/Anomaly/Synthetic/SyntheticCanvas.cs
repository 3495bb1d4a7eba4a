// Pixel buffer plus the shape rasterisers (discs, thick lines) the synthetic classes and defects are drawn with.
namespace VcpNative.Anomaly.Synthetic;

/// <summary>An RGB image (grey classes keep R = G = B and are saved with one channel) and shape masks of the same size.</summary>
internal sealed class SyntheticCanvas(int size)
{
    public readonly int Size = size;
    public readonly byte[] Rgb = new byte[size * size * 3];

    public void Set(int x, int y, float r, float g, float b)
    {
        int i = ((y * Size) + x) * 3;
        Rgb[i] = ToByte(r);
        Rgb[i + 1] = ToByte(g);
        Rgb[i + 2] = ToByte(b);
    }

    public static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v), 0, 255);

    public byte[] Grey()
    {
        var g = new byte[Size * Size];
        for (int i = 0; i < g.Length; i++)
        {
            g[i] = Rgb[i * 3];
        }

        return g;
    }

    public static void Disc(byte[] mask, int size, float cx, float cy, float r)
    {
        int x0 = Math.Max(0, (int)(cx - r - 1)), x1 = Math.Min(size - 1, (int)(cx + r + 1));
        int y0 = Math.Max(0, (int)(cy - r - 1)), y1 = Math.Min(size - 1, (int)(cy + r + 1));
        for (int y = y0; y <= y1; y++)
        {
            for (int x = x0; x <= x1; x++)
            {
                float dx = x - cx, dy = y - cy;
                if ((dx * dx) + (dy * dy) <= r * r)
                {
                    mask[(y * size) + x] = 1;
                }
            }
        }
    }

    /// <summary>A segment of the given half-width, stamped as discs every half pixel.</summary>
    public static void Line(byte[] mask, int size, float x0, float y0, float x1, float y1, float halfWidth)
    {
        float length = MathF.Sqrt(((x1 - x0) * (x1 - x0)) + ((y1 - y0) * (y1 - y0)));
        int steps = Math.Max(1, (int)(length * 2));
        for (int s = 0; s <= steps; s++)
        {
            float t = (float)s / steps;
            Disc(mask, size, x0 + ((x1 - x0) * t), y0 + ((y1 - y0) * t), halfWidth);
        }
    }
}
