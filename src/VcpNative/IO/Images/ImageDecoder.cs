// Entry point for reading image files: detects PNG / BMP / JPEG by magic bytes, checks size limits, dispatches.
using System.Buffers.Binary;

namespace VcpNative.IO.Images;

/// <summary>Decodes PNG, BMP and JPEG files, chosen by their signature.</summary>
public static partial class ImageDecoder
{
    /// <summary>Decodes a file into its native form (<see cref="GreyImage"/> for grey files, <see cref="RgbImage"/>
    /// otherwise); follow with ToRgb()/ToGrey() for Pillow's convert('RGB') / convert('L').</summary>
    public static PixelImage Decode(string path, ImageSizeLimits? limits = null)
        => Decode(File.ReadAllBytes(path), path, limits);

    /// <summary>Decodes an in-memory file; <paramref name="nameForErrors"/> names it in exceptions.</summary>
    public static PixelImage Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageSizeLimits? limits = null)
    {
        ImageHeader header = ReadHeader(data, nameForErrors);
        (limits ?? ImageSizeLimits.Default).Check(header, nameForErrors);
        switch (header.Format)
        {
            case ImageFormat.Png:
                return PngDecoder.Decode(data, nameForErrors);
            case ImageFormat.Bmp:
                return BmpDecoder.Decode(data, nameForErrors);
            default:
                RgbImage? image = null;
                DecodeJpegIfBuilt(data, nameForErrors, ref image);
                return image ?? throw new ImageDecodeException(nameForErrors, 0, "a PNG or BMP file", "a JPEG file, and this build has no JPEG decoder");
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
        // The headers of all three formats sit in the first bytes, except JPEG whose SOF may follow large
        // EXIF/ICC segments, so JPEG falls back to the whole file.
        using var stream = File.OpenRead(path);
        var head = new byte[(int)Math.Min(stream.Length, 64 * 1024)];
        stream.ReadExactly(head);
        if (head.Length > 2 && head[0] == 0xFF && head[1] == 0xD8 && head.Length < stream.Length)
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
        string found = data.Length == 0 ? "an empty file" : $"bytes {Convert.ToHexString(data[..Math.Min(8, data.Length)])}";
        throw new ImageDecodeException(nameForErrors, 0, "a PNG, BMP or JPEG signature", found);
    }

    /// <summary>Walks JPEG marker segments up to the first start-of-frame (SOF0..SOF15 except DHT, JPG, DAC).</summary>
    private static ImageHeader ReadJpegHeader(ReadOnlySpan<byte> data, string name)
    {
        int pos = 2;
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
                return new ImageHeader(ImageFormat.Jpeg, width, height, components >= 3);
            }
            if (length < 2)
                throw new ImageDecodeException(name, pos + 2, "a JPEG segment length >= 2", length.ToString());
            pos += 2 + length;
        }
    }
}
