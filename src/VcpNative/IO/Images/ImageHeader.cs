// What a file says about its image before any pixel is decoded, and the size limits checked against it.
namespace VcpNative.IO.Images;

/// <summary>Image file formats the decoder reads.</summary>
public enum ImageFormat
{
    /// <summary>PNG.</summary>
    Png,
    /// <summary>Windows BMP.</summary>
    Bmp,
    /// <summary>Baseline or progressive JPEG.</summary>
    Jpeg,
    /// <summary>TIFF (first page), decoded by LibTiff.NET.</summary>
    Tiff,
    /// <summary>WebP, lossy or lossless, decoded by Skia's libwebp (needs libSkiaSharp.so).</summary>
    WebP,
    /// <summary>GIF (first frame).</summary>
    Gif,
}

/// <summary>Format and dimensions read from the header; <see cref="IsColour"/> tells whether the file's native
/// Pillow mode is a colour one (RGB, RGBA, P, CMYK) or a grey one (1, L, LA, I). Width and Height are the upright
/// size, after the file's orientation (JPEG EXIF, TIFF Orientation tag) is applied, as the decoded image has it.</summary>
public readonly record struct ImageHeader(ImageFormat Format, int Width, int Height, bool IsColour)
{
    /// <summary>The EXIF / TIFF orientation (1..8; 1 = stored upright) the decoder applies, as Pillow's
    /// <c>ImageOps.exif_transpose</c> does. Values 5..8 swap the stored width and height.</summary>
    public int Orientation { get; init; } = 1;


    /// <summary>Width * Height.</summary>
    public long PixelCount => (long)Width * Height;
}

/// <summary>Refuses images whose header announces absurd sizes before a single pixel buffer is allocated
/// (a 30-byte PNG can announce 2^31 x 2^31 pixels).</summary>
public sealed record ImageSizeLimits(int MaxSide = 32768, long MaxPixels = 1L << 28)
{
    /// <summary>32768 pixels a side and 2^28 pixels.</summary>
    public static ImageSizeLimits Default { get; } = new();

    /// <summary>Throws <see cref="ImageDecodeException"/> when <paramref name="header"/> has a non-positive side or exceeds the limits.</summary>
    public void Check(ImageHeader header, string fileName)
    {
        if (header.Width <= 0 || header.Height <= 0)
            throw new ImageDecodeException(fileName, 0, "a positive width and height", $"{header.Width}x{header.Height}");
        if (header.Width > MaxSide || header.Height > MaxSide || header.PixelCount > MaxPixels)
            throw new ImageDecodeException(fileName, 0, $"at most {MaxSide} pixels a side and {MaxPixels} pixels",
                $"{header.Width}x{header.Height}");
    }
}
