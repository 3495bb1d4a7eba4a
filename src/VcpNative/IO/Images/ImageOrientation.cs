// EXIF / TIFF orientation (tag 0x0112): reading it from an EXIF block and turning a decoded image upright as
// Pillow's ImageOps.exif_transpose does.
using System.Buffers.Binary;

namespace VcpNative.IO.Images;

internal static class ImageOrientation
{
    public const int Upright = 1;
    private const ushort OrientationTag = 0x0112;

    /// <summary>True when the orientation stores the image transposed (5..8): upright width = stored height.</summary>
    public static bool SwapsSides(int orientation) => orientation is >= 5 and <= 8;

    /// <summary>(width, height) after <paramref name="orientation"/> is applied to a stored width x height image.</summary>
    public static (int Width, int Height) UprightSize(int width, int height, int orientation) =>
        SwapsSides(orientation) ? (height, width) : (width, height);

    /// <summary>
    /// The orientation in IFD0 of an EXIF block: a TIFF structure, optionally after "Exif\0\0" (a JPEG APP1 payload
    /// has it, a WebP EXIF chunk usually not; Pillow strips it when present); 1 when there is no orientation or the
    /// block is malformed. Metadata damage is not a decode error: Pillow ignores what it cannot read there too.
    /// </summary>
    public static int FromExif(ReadOnlySpan<byte> exif)
    {
        var tiff = exif.StartsWith("Exif\0\0"u8) ? exif[6..] : exif;
        if (tiff.Length < 8)
            return Upright;
        bool little = tiff[0] == 'I' && tiff[1] == 'I';
        if (!little && !(tiff[0] == 'M' && tiff[1] == 'M'))
            return Upright;
        long ifd = ReadUInt32(tiff[4..], little);
        if (ifd < 8 || ifd + 2 > tiff.Length)
            return Upright;
        int count = ReadUInt16(tiff[(int)ifd..], little);
        for (int i = 0; i < count; i++)
        {
            long entry = ifd + 2 + (12L * i);
            if (entry + 12 > tiff.Length)
                return Upright;
            var e = tiff.Slice((int)entry, 12);
            if (ReadUInt16(e, little) != OrientationTag)
                continue;
            // SHORT (type 3), count 1: the value sits in the first two bytes of the value field.
            int value = ReadUInt16(e[2..], little) == 3 ? ReadUInt16(e[8..], little) : Upright;
            return value is >= 1 and <= 8 ? value : Upright;
        }
        return Upright;
    }

    private static int ReadUInt16(ReadOnlySpan<byte> s, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16BigEndian(s);

    private static long ReadUInt32(ReadOnlySpan<byte> s, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);

    /// <summary>
    /// The image turned upright: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
    /// 8 rotate 90 counter-clockwise (Pillow's FLIP_LEFT_RIGHT, ROTATE_180, FLIP_TOP_BOTTOM, TRANSPOSE, ROTATE_270,
    /// TRANSVERSE, ROTATE_90). Orientation 1 or an unknown value returns the image itself.
    /// </summary>
    public static PixelImage Apply(PixelImage image, int orientation)
    {
        if (orientation is < 2 or > 8)
            return image;
        int w = image.Width, h = image.Height, ch = image.Channels;
        var (outW, outH) = UprightSize(w, h, orientation);
        var src = image.Pixels;
        var dst = new byte[src.Length];
        for (int y = 0; y < outH; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                // (sx, sy): the stored pixel that lands on upright (x, y).
                var (sx, sy) = orientation switch
                {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x),
                };
                int s = ((sy * w) + sx) * ch, d = ((y * outW) + x) * ch;
                for (int c = 0; c < ch; c++)
                    dst[d + c] = src[s + c];
            }
        }
        return ch == 1 ? new GreyImage(outW, outH, dst) : new RgbImage(outW, outH, dst);
    }
}
