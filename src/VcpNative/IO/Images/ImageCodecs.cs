// The registry of image formats: a new format is its decoder file plus one line in ImageCodecs.All, which gives
// ImageDecoder its signature dispatch and ImageFiles its folder-search extensions.
namespace VcpNative.IO.Images;

internal delegate bool SignatureTest(ReadOnlySpan<byte> data);

internal delegate ImageHeader HeaderReader(ReadOnlySpan<byte> data, string name);

/// <summary>Decodes pixels as stored (ImageDecoder applies the header's orientation); the limits are checked
/// against the header before it is called, and again by decoders that allocate more than the header says.</summary>
internal delegate PixelImage PixelDecoder(ReadOnlySpan<byte> data, string name, ImageSizeLimits limits);

/// <summary>One format: its extensions, how its files start, and its header reader and decoder.
/// HeaderMayBeLate: the header can sit past the first 64 KiB (JPEG after large EXIF/ICC segments, a TIFF directory
/// after the pixels, a GIF frame after long extensions), so ReadHeader(path) then reads the whole file.</summary>
internal sealed record ImageCodec(ImageFormat Format, string[] Extensions, SignatureTest HasSignature,
    HeaderReader ReadHeader, PixelDecoder Decode, bool HeaderMayBeLate);

internal static class ImageCodecs
{
    public static readonly ImageCodec[] All =
    [
        new(ImageFormat.Png, [".png"], d => d.StartsWith(PngDecoder.Signature), PngDecoder.ReadHeader, (d, n, _) => PngDecoder.Decode(d, n), false),
        new(ImageFormat.Bmp, [".bmp"], d => d.Length >= 2 && d[0] == (byte)'B' && d[1] == (byte)'M', BmpDecoder.ReadHeader, (d, n, _) => BmpDecoder.Decode(d, n), false),
        new(ImageFormat.Jpeg, [".jpg", ".jpeg"], d => d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF, ImageDecoder.ReadJpegHeader, ImageDecoder.DecodeJpeg, true),
        new(ImageFormat.Tiff, [".tif", ".tiff"], TiffDecoder.HasSignature, TiffDecoder.ReadHeader, TiffDecoder.Decode, true),
        new(ImageFormat.WebP, [".webp"], WebPDecoder.HasSignature, WebPDecoder.ReadHeader, WebPDecoder.Decode, false),
        new(ImageFormat.Gif, [".gif"], GifDecoder.HasSignature, GifDecoder.ReadHeader, GifDecoder.Decode, true),
    ];

    /// <summary>The codec whose signature <paramref name="data"/> starts with, or null.</summary>
    public static ImageCodec? Find(ReadOnlySpan<byte> data)
    {
        foreach (var codec in All)
        {
            if (codec.HasSignature(data))
                return codec;
        }
        return null;
    }

    /// <summary>The codec of <paramref name="format"/>.</summary>
    public static ImageCodec Of(ImageFormat format) => All.First(c => c.Format == format);
}
