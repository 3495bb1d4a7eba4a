// One input of ImageInferenceLoop: a name for results and errors, and how to get its pixels (file, encoded bytes or decoded image).
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Inference;

/// <summary>An image for <see cref="ImageInferenceLoop"/>; <see cref="Decode"/> runs on the loop's decoder threads.</summary>
public abstract class ImageInput
{
    private protected ImageInput(string name) => Name = name;

    /// <summary>The path, or the name given to an in-memory image; used in results and error messages.</summary>
    public string Name { get; }

    /// <summary>An image file read from disk.</summary>
    public static ImageInput FromFile(string path) => new FileInput(path);

    /// <summary>An encoded PNG, BMP, JPEG, TIFF, WebP or GIF held in memory (the bytes are not copied and must not change until decoded).</summary>
    public static ImageInput FromEncoded(ReadOnlyMemory<byte> bytes, string name) => new EncodedInput(bytes, name);

    /// <summary>An already decoded image.</summary>
    public static ImageInput FromImage(PixelImage image, string name) => new DecodedInput(image, name);

    /// <summary>The pixels; dimensions are checked against <paramref name="limits"/> before any pixel allocation.</summary>
    public abstract PixelImage Decode(ImageSizeLimits limits);

    // ImageDecoder.Decode reads the header and checks the limits before any pixel allocation; no second pass here.
    private protected PixelImage DecodeBytes(ReadOnlySpan<byte> bytes, ImageSizeLimits limits) => ImageDecoder.Decode(bytes, Name, limits);

    private sealed class FileInput(string path) : ImageInput(path)
    {
        public override PixelImage Decode(ImageSizeLimits limits) => DecodeBytes(File.ReadAllBytes(Name), limits);
    }

    private sealed class EncodedInput(ReadOnlyMemory<byte> bytes, string name) : ImageInput(name)
    {
        public override PixelImage Decode(ImageSizeLimits limits) => DecodeBytes(bytes.Span, limits);
    }

    private sealed class DecodedInput(PixelImage image, string name) : ImageInput(name)
    {
        // Already in memory: the limits guard allocations made while decoding, and there are none here.
        public override PixelImage Decode(ImageSizeLimits limits) => image;
    }
}

/// <summary>
/// A decoded input as the loop saw it: the image as decoded (upright, at its own size: what overlays and masks at the
/// original resolution are drawn on) and the resized image the model ran on.
/// </summary>
/// <param name="Input">The input.</param>
/// <param name="Original">The decoded image before resizing.</param>
/// <param name="Resized">The square image the model ran on.</param>
public sealed record ImageInferenceItem(ImageInput Input, RgbImage Original, RgbImage Resized)
{
    /// <summary>Width of <see cref="Original"/>.</summary>
    public int OriginalWidth => Original.Width;

    /// <summary>Height of <see cref="Original"/>.</summary>
    public int OriginalHeight => Original.Height;
}
