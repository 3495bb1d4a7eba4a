// WebP (lossy and lossless) through SkiaSharp, whose libSkiaSharp.so carries libwebp, the decoder Pillow uses too.
//
// Why a native library: our rule is to prefer a well-kept library over our own codec unless it costs the single
// small binary. WebP's lossy (VP8) and lossless (VP8L) codecs are large, and libwebp is the reference; SkiaSharp
// ships it built for every Linux RID. NativeAOT cannot link libSkiaSharp.so into vcp-native, so it travels as one
// optional companion file next to the binary (tools/release.sh copies it). It is loaded lazily: only when a WebP
// is decoded, so start-up and PNG/JPEG/BMP/TIFF/GIF never touch it, and without it a WebP fails with one line.
// Headers are parsed here, so ReadHeader and the size limits work without the library.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace VcpNative.IO.Images;

internal static class WebPDecoder
{
    /// <summary>The library's file name on Linux (the name SkiaSharp's P/Invokes bind to).</summary>
    public const string NativeLibraryFile = "libSkiaSharp.so";

    /// <summary>"RIFF", a 4-byte size, then "WEBP".</summary>
    public static bool HasSignature(ReadOnlySpan<byte> data) =>
        data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8);

    /// <summary>Canvas size from the first chunk (VP8X, VP8L or VP8), upright by an EXIF chunk's orientation, without
    /// the native library.</summary>
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string name)
    {
        if (data.Length < 30)
            throw new ImageDecodeException(name, data.Length, "a WebP chunk header and frame size (30 bytes)", "end of file");
        var chunk = data.Slice(12, 4);
        var payload = data[20..];
        int width, height;
        bool colour = true;
        if (chunk.SequenceEqual("VP8X"u8))
        {
            // flags(1) reserved(3) canvas width-1 (24 bits LE) canvas height-1 (24 bits LE)
            width = 1 + (payload[4] | (payload[5] << 8) | (payload[6] << 16));
            height = 1 + (payload[7] | (payload[8] << 8) | (payload[9] << 16));
        }
        else if (chunk.SequenceEqual("VP8L"u8))
        {
            if (payload[0] != 0x2F)
                throw new ImageDecodeException(name, 20, "the VP8L signature 0x2F", $"0x{payload[0]:X2}");
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(payload[1..]);
            width = 1 + (int)(bits & 0x3FFF);
            height = 1 + (int)((bits >> 14) & 0x3FFF);
        }
        else if (chunk.SequenceEqual("VP8 "u8))
        {
            // 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height (2 scale bits each).
            if (payload[3] != 0x9D || payload[4] != 0x01 || payload[5] != 0x2A)
                throw new ImageDecodeException(name, 23, "the VP8 start code 9D012A", Convert.ToHexString(payload.Slice(3, 3)));
            width = BinaryPrimitives.ReadUInt16LittleEndian(payload[6..]) & 0x3FFF;
            height = BinaryPrimitives.ReadUInt16LittleEndian(payload[8..]) & 0x3FFF;
        }
        else
        {
            throw new ImageDecodeException(name, 12, "a VP8, VP8L or VP8X chunk", $"'{System.Text.Encoding.ASCII.GetString(chunk)}'");
        }
        int orientation = ExifOrientation(data);
        var (uw, uh) = ImageOrientation.UprightSize(width, height, orientation);
        return new ImageHeader(ImageFormat.WebP, uw, uh, colour) { Orientation = orientation };
    }

    /// <summary>The orientation in the file's EXIF chunk (extended format, e.g. cwebp -metadata exif), else 1.</summary>
    private static int ExifOrientation(ReadOnlySpan<byte> data)
    {
        int end = (int)Math.Min(data.Length, 8L + BinaryPrimitives.ReadUInt32LittleEndian(data[4..]));
        for (int pos = 12; pos + 8 <= end;)
        {
            long size = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
            if (pos + 8 + size > end)
                break;
            if (data.Slice(pos, 4).SequenceEqual("EXIF"u8))
                return ImageOrientation.FromExif(data.Slice(pos + 8, (int)size));
            pos += 8 + (int)size + (int)(size & 1); // chunks are padded to an even size
        }
        return ImageOrientation.Upright;
    }

    /// <summary>Decodes the image (first frame of an animation) to RGB as stored (ImageDecoder applies the EXIF
    /// orientation); alpha is dropped as convert('RGB') does.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> data, string name, ImageSizeLimits limits)
    {
        var header = ReadHeader(data, name);
        limits.Check(header, name);
        RequireNativeLibrary(name);
        try
        {
            return DecodeWithSkia(data.ToArray(), name);
        }
        catch (Exception e) when (e is not ImageDecodeException and not OutOfMemoryException)
        {
            throw new ImageDecodeException(name, -1, "a WebP that libwebp decodes", $"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" "));
        }
    }

    private static RgbImage DecodeWithSkia(byte[] bytes, string name)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        using var codec = SKCodec.Create(stream, out var created)
            ?? throw new ImageDecodeException(name, -1, "a WebP that libwebp can open", $"SKCodec result {created}");
        int w = codec.Info.Width, h = codec.Info.Height;
        // Unpremultiplied RGBA is libwebp's MODE_RGBA, the output Pillow asks for: colours under partial alpha are
        // not rounded through a premultiplication.
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[checked((long)w * h * 4)];
        var result = codec.GetPixels(info, rgba);
        if (result != SKCodecResult.Success)
            throw new ImageDecodeException(name, -1, "complete WebP image data", $"SKCodec result {result}");
        var rgb = new byte[(long)w * h * 3];
        for (long i = 0, n = (long)w * h; i < n; i++)
        {
            rgb[3 * i] = rgba[4 * i];
            rgb[(3 * i) + 1] = rgba[(4 * i) + 1];
            rgb[(3 * i) + 2] = rgba[(4 * i) + 2];
        }
        return new RgbImage(w, h, rgb);
    }

    /// <summary>
    /// Loads libSkiaSharp the way SkiaSharp's P/Invokes will (next to the binary or the assembly, then the system
    /// search path), so a missing file is one clear line instead of a DllNotFoundException from deep inside Skia.
    /// Loading an already loaded library only bumps its reference count, so nothing is cached here.
    /// </summary>
    private static void RequireNativeLibrary(string name)
    {
        if (NativeLibrary.TryLoad("libSkiaSharp", typeof(SKCodec).Assembly, null, out _))
            return;
        throw new ImageDecodeException(name, -1, $"{NativeLibraryFile} next to the binary: WebP decoding needs it (SkiaSharp's libwebp)",
            $"none in {AppContext.BaseDirectory} nor on the library search path");
    }
}
