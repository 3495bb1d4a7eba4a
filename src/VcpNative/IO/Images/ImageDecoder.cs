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
        PixelImage stored = ImageCodecs.Of(header.Format).Decode(data, nameForErrors, limits);
        return ImageOrientation.Apply(stored, header.Orientation);
    }

    /// <summary>Pillow's <c>ImageOps.exif_transpose(Image.open(path)).convert('RGB')</c> (the same as without
    /// exif_transpose for files that carry no orientation).</summary>
    public static RgbImage DecodeRgb(string path, ImageSizeLimits? limits = null) => Decode(path, limits).ToRgb();

    /// <summary>Pillow's <c>Image.open(path).convert('L')</c> (ground-truth masks), upright as <see cref="DecodeRgb"/>.</summary>
    public static GreyImage DecodeGrey(string path, ImageSizeLimits? limits = null) => Decode(path, limits).ToGrey();

    /// <summary>The JPEG decoder lives in its own file (JpegDecoder); a build that includes it implements this
    /// hook in one line (image = JpegDecoder.Decode(data, name)). Without it, JPEG input is refused.</summary>
    static partial void DecodeJpegIfBuilt(ReadOnlySpan<byte> data, string name, ref RgbImage? image);

    /// <summary>The JPEG entry of <see cref="ImageCodecs"/>: the decoder when built, else a one-line refusal.</summary>
    internal static PixelImage DecodeJpeg(ReadOnlySpan<byte> data, string name, ImageSizeLimits limits)
    {
        RgbImage? image = null;
        DecodeJpegIfBuilt(data, name, ref image);
        return image ?? throw new ImageDecodeException(name, 0, "a PNG or BMP file", "a JPEG file, and this build has no JPEG decoder");
    }

    /// <summary>Reads format and dimensions only; nothing proportional to the pixel count is allocated.</summary>
    public static ImageHeader ReadHeader(string path)
    {
        // Most headers sit in the first bytes; formats whose header may sit later fall back to the whole file.
        using var stream = File.OpenRead(path);
        var head = new byte[(int)Math.Min(stream.Length, 64 * 1024)];
        stream.ReadExactly(head);
        if (ImageCodecs.Find(head) is { HeaderMayBeLate: true } && head.Length < stream.Length)
            return ReadHeader(File.ReadAllBytes(path), path);
        return ReadHeader(head, path);
    }

    /// <summary>Format, size and colour of the file from its header, without decoding pixels.</summary>
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string nameForErrors)
    {
        if (ImageCodecs.Find(data) is { } codec)
            return codec.ReadHeader(data, nameForErrors);
        string found = data.Length == 0 ? "an empty file" : $"bytes {Convert.ToHexString(data[..Math.Min(12, data.Length)])}";
        throw new ImageDecodeException(nameForErrors, 0, "a PNG, BMP, JPEG, TIFF, WebP or GIF signature", found);
    }

    /// <summary>Walks JPEG marker segments to the first start-of-frame (SOF0..SOF15 except DHT, JPG, DAC), noting
    /// the EXIF orientation of an APP1 segment before it; the size is reported upright.</summary>
    internal static ImageHeader ReadJpegHeader(ReadOnlySpan<byte> data, string name)
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
