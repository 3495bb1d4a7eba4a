// Connects the JPEG decoder to ImageDecoder's format dispatch.
namespace VcpNative.IO.Images;

public static partial class ImageDecoder
{
    static partial void DecodeJpegIfBuilt(ReadOnlySpan<byte> data, string name, ref RgbImage? image)
    {
        JpegImage decoded;
        try
        {
            decoded = JpegDecoder.Decode(data, name);
        }
        catch (JpegDecodeException e)
        {
            throw new ImageDecodeException(e.Message, e);
        }
        image = decoded.Components == 3 ? new RgbImage(decoded.Width, decoded.Height, decoded.Pixels) : GreyToRgb(decoded);
    }

    private static RgbImage GreyToRgb(JpegImage grey)
    {
        var rgb = new byte[grey.Width * grey.Height * 3];
        for (var i = 0; i < grey.Pixels.Length; i++)
        {
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey.Pixels[i];
        }
        return new RgbImage(grey.Width, grey.Height, rgb);
    }
}
