// Connects the JPEG decoder to ImageDecoder's format dispatch.
namespace VcpNative.IO.Images;

public static partial class ImageDecoder
{
    static partial void DecodeJpegIfBuilt(ReadOnlySpan<byte> data, string name, ref RgbImage? image)
    {
        try
        {
            // Grey JPEGs are replicated into RGB like every other grey file (Pillow's convert('RGB')).
            image = JpegDecoder.Decode(data, name).ToRgb();
        }
        catch (JpegDecodeException e)
        {
            throw new ImageDecodeException(e.Message, e);
        }
    }
}
