// An 8-bit single-channel image (Pillow mode 'L'): ground-truth masks and grey files.
namespace VcpNative.IO.Images;

/// <summary>An 8-bit single-channel image, row-major.</summary>
public sealed class GreyImage : PixelImage
{
    /// <summary>Wraps <paramref name="pixels"/> (width*height bytes) without copying.</summary>
    public GreyImage(int width, int height, byte[] pixels) : base(width, height, 1, pixels) { }

    /// <summary>An all-zero image of the given size.</summary>
    public GreyImage(int width, int height) : this(width, height, new byte[checked(width * height)]) { }

    /// <inheritdoc/>
    public override RgbImage ToRgb()
    {
        var rgb = new byte[Pixels.Length * 3];
        ReadOnlySpan<byte> grey = Pixels;
        for (int i = 0; i < grey.Length; i++)
        {
            byte v = grey[i];
            rgb[3 * i] = v;
            rgb[3 * i + 1] = v;
            rgb[3 * i + 2] = v;
        }
        return new RgbImage(Width, Height, rgb);
    }

    /// <inheritdoc/>
    public override GreyImage ToGrey() => this;
}
