// An 8-bit image with 1 (grey, PIL mode 'L') or 3 (RGB, PIL mode 'RGB') interleaved channels, row-major.
namespace VcpNative.IO.Images;

/// <summary>An 8-bit image, grey or RGB, row-major with interleaved channels.</summary>
public abstract class PixelImage
{
    private protected PixelImage(int width, int height, int channels, byte[] pixels)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"image size must be positive, got {width}x{height}");
        if (pixels.Length != (long)width * height * channels)
            throw new ArgumentException($"pixel buffer holds {pixels.Length} bytes, expected {width}x{height}x{channels} = {(long)width * height * channels}", nameof(pixels));
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>1 for <see cref="GreyImage"/>, 3 for <see cref="RgbImage"/>.</summary>
    public int Channels { get; }

    /// <summary>Interleaved samples, row-major, no row padding: index = (y * Width + x) * Channels + c.</summary>
    public byte[] Pixels { get; }

    /// <summary>Pillow's <c>convert('RGB')</c>: grey is replicated into the three channels.</summary>
    public abstract RgbImage ToRgb();

    /// <summary>Pillow's <c>convert('L')</c>: ITU-R 601-2 luma in Pillow's 16-bit fixed point.</summary>
    public abstract GreyImage ToGrey();
}
