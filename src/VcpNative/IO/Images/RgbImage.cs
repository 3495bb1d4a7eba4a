// An 8-bit RGB image (Pillow mode 'RGB'): the decoded form of colour files and the input of CLIP preprocessing.
namespace VcpNative.IO.Images;

/// <summary>An 8-bit RGB image, row-major, channels interleaved.</summary>
public sealed class RgbImage : PixelImage
{
    /// <summary>Wraps <paramref name="pixels"/> (width*height*3 bytes) without copying.</summary>
    public RgbImage(int width, int height, byte[] pixels) : base(width, height, 3, pixels) { }

    /// <summary>A black image of the given size.</summary>
    public RgbImage(int width, int height) : this(width, height, new byte[checked(width * height * 3)]) { }

    /// <inheritdoc/>
    public override RgbImage ToRgb() => this;

    /// <inheritdoc/>
    public override GreyImage ToGrey()
    {
        var grey = new byte[Width * Height];
        ReadOnlySpan<byte> rgb = Pixels;
        for (int i = 0; i < grey.Length; i++)
            grey[i] = Luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
        return new GreyImage(Width, Height, grey);
    }

    /// <summary>Pillow's L24 macro (Convert.c): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, i.e. 0.299/0.587/0.114
    /// in 16-bit fixed point. Checked against PIL on random pixels by the decode fixtures.</summary>
    public static byte Luma(byte r, byte g, byte b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}
