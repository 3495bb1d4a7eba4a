// Entry point for reading image files: detects PNG / BMP / JPEG / TIFF / WebP / GIF by magic bytes, checks size
// limits on the header, dispatches, and turns EXIF/TIFF-oriented images upright.
using System.Buffers.Binary;

namespace VcpNative.IO.Images;

/// <summary>Decodes PNG, BMP, JPEG, TIFF, WebP and GIF files, chosen by their signature.</summary>
public static partial class ImageDecoder
{
    /// <summary>Decodes a file into its native form (<see cref="GreyImage"/> for grey files, <see cref="RgbImage"/>
    /// otherwise), upright (JPEG EXIF and TIFF orientation applied, as Pillow's <c>ImageOps.exif_transpose</c>);
    /// follow with ToRgb()/ToGrey() for Pillow's convert('RGB') / convert('L'). Multi-page TIFF and animated
    /// WebP/GIF give their first page or frame. WebP needs libSkiaSharp.so next to the binary.</summary>
    public static PixelImage Decode(string path, ImageSizeLimits? limits = null)
        => Decode(File.ReadAllBytes(path), path, limits);

    /// <summary>Decodes an in-memory file; <paramref name="nameForErrors"/> names it in exceptions.</summary>
    public static PixelImage Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageSizeLimits? limits = null)
    {
        limits ??= ImageSizeLimits.Default;
        ImageHeader header = ReadHeader(data, nameForErrors);
        limits.Check(header, nameForErrors);
        switch (header.Format)
        {
            case ImageFormat.Png:
                return PngDecoder.Decode(data, nameForErrors);
            case ImageFormat.Bmp:
                return BmpDecoder.Decode(data, nameForErrors);
            case ImageFormat.Tiff:
                return TiffDecoder.Decode(data, nameForErrors, limits);
            case ImageFormat.WebP:
                return ImageOrientation.Apply(WebPDecoder.Decode(data, nameForErrors, limits), header.Orientation);
            case ImageFormat.Gif:
                return GifDecoder.Decode(data, nameForErrors, limits);
            default:
                RgbImage? image = null;
                DecodeJpegIfBuilt(data, nameForErrors, ref image);
                return image is null
                    ? throw new ImageDecodeException(nameForErrors, 0, "a PNG or BMP file", "a JPEG file, and this build has no JPEG decoder")
                    : ImageOrientation.Apply(image, header.Orientation);
        }
    }

    /// <summary>Pillow's <c>Image.open(path).convert('RGB')</c>.</summary>
    public static RgbImage DecodeRgb(string path, ImageSizeLimits? limits = null) => Decode(path, limits).ToRgb();

    /// <summary>Pillow's <c>Image.open(path).convert('L')</c> (ground-truth masks).</summary>
    public static GreyImage DecodeGrey(string path, ImageSizeLimits? limits = null) => Decode(path, limits).ToGrey();

    /// <summary>The JPEG decoder lives in its own file (JpegDecoder); a build that includes it implements this
    /// hook in one line (image = JpegDecoder.Decode(data, name)). Without it, JPEG input is refused.</summary>
    static partial void DecodeJpegIfBuilt(ReadOnlySpan<byte> data, string name, ref RgbImage? image);

    /// <summary>Reads format and dimensions only; nothing proportional to the pixel count is allocated.</summary>
    public static ImageHeader ReadHeader(string path)
    {
        // Most headers sit in the first bytes. JPEG's SOF may follow large EXIF/ICC segments, a TIFF's first
        // directory may sit after its pixel data and a GIF's first frame after long extensions, so those three fall
        // back to the whole file.
        using var stream = File.OpenRead(path);
        var head = new byte[(int)Math.Min(stream.Length, 64 * 1024)];
        stream.ReadExactly(head);
        bool mayNeedMore = (head.Length > 2 && head[0] == 0xFF && head[1] == 0xD8) || TiffDecoder.HasSignature(head) || GifDecoder.HasSignature(head);
        if (mayNeedMore && head.Length < stream.Length)
            return ReadHeader(File.ReadAllBytes(path), path);
        return ReadHeader(head, path);
    }

    /// <summary>Format, size and colour of the file from its header, without decoding pixels.</summary>
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string nameForErrors)
    {
        if (data.StartsWith(PngDecoder.Signature))
            return PngDecoder.ReadHeader(data, nameForErrors);
        if (data.Length >= 2 && data[0] == (byte)'B' && data[1] == (byte)'M')
            return BmpDecoder.ReadHeader(data, nameForErrors);
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
            return ReadJpegHeader(data, nameForErrors);
        if (TiffDecoder.HasSignature(data))
            return TiffDecoder.ReadHeader(data, nameForErrors);
        if (WebPDecoder.HasSignature(data))
            return WebPDecoder.ReadHeader(data, nameForErrors);
        if (GifDecoder.HasSignature(data))
            return GifDecoder.ReadHeader(data, nameForErrors);
        string found = data.Length == 0 ? "an empty file" : $"bytes {Convert.ToHexString(data[..Math.Min(12, data.Length)])}";
        throw new ImageDecodeException(nameForErrors, 0, "a PNG, BMP, JPEG, TIFF, WebP or GIF signature", found);
    }

    /// <summary>Walks JPEG marker segments to the first start-of-frame (SOF0..SOF15 except DHT, JPG, DAC), noting
    /// the EXIF orientation of an APP1 segment before it; the size is reported upright.</summary>
    private static ImageHeader ReadJpegHeader(ReadOnlySpan<byte> data, string name)
    {
        int pos = 2;
        int orientation = ImageOrientation.Upright;
        bool sawExif = false;
        while (true)
        {
            if (pos + 4 > data.Length)
                throw new ImageDecodeException(name, pos, "a JPEG marker segment before the frame header", "end of file");
            if (data[pos] != 0xFF)
                throw new ImageDecodeException(name, pos, "a JPEG marker (0xFF)", $"0x{data[pos]:X2}");
            byte marker = data[pos + 1];
            if (marker == 0xFF) { pos++; continue; } // fill byte
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { pos += 2; continue; } // no payload
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2)..]);
            bool isFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (isFrame)
            {
                if (length < 8 || pos + 2 + length > data.Length)
                    throw new ImageDecodeException(name, pos, "a complete JPEG frame header", $"length {length}");
                int height = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 5)..]);
                int width = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 7)..]);
                int components = data[pos + 9];
                var (uw, uh) = ImageOrientation.UprightSize(width, height, orientation);
                return new ImageHeader(ImageFormat.Jpeg, uw, uh, components >= 3) { Orientation = orientation };
            }
            if (length < 2)
                throw new ImageDecodeException(name, pos + 2, "a JPEG segment length >= 2", length.ToString());
            if (marker == 0xE1 && !sawExif && pos + 2 + length <= data.Length && data[(pos + 4)..].StartsWith("Exif\0\0"u8))
            {
                // Pillow keeps the first EXIF segment only.
                sawExif = true;
                orientation = ImageOrientation.FromExif(data.Slice(pos + 4, length - 2));
            }
            pos += 2 + length;
        }
    }
}
