// Decoded JPEG pixels: interleaved 8-bit samples, RGB (3 components) or grey (1 component), row-major.
namespace VcpNative.IO.Images;

public sealed class JpegImage
{
    internal JpegImage(int width, int height, int components, byte[] pixels)
    {
        Width = width;
        Height = height;
        Components = components;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int Components { get; }

    /// <summary>Width * Height * Components bytes, row-major, components interleaved.</summary>
    public byte[] Pixels { get; }
}
