// Pillow's CMYK -> RGB conversion (Convert.c cmyk2rgb), shared by CMYK JPEG and CMYK TIFF.
namespace VcpNative.IO.Images;

internal static class CmykToRgb
{
    /// <summary>One pixel: with nk = 255 - K, each of R, G, B = nk - C*nk/255 (Pillow's MULDIV255 rounding).</summary>
    public static void Convert(int c, int m, int y, int k, Span<byte> rgb)
    {
        int nk = 255 - k;
        rgb[0] = (byte)Math.Clamp(nk - MulDiv255(c, nk), 0, 255);
        rgb[1] = (byte)Math.Clamp(nk - MulDiv255(m, nk), 0, 255);
        rgb[2] = (byte)Math.Clamp(nk - MulDiv255(y, nk), 0, 255);
    }

    /// <summary>a*b/255 rounded as Pillow's MULDIV255 macro: t = a*b + 128; ((t >> 8) + t) >> 8.</summary>
    public static int MulDiv255(int a, int b)
    {
        int t = (a * b) + 128;
        return ((t >> 8) + t) >> 8;
    }
}
