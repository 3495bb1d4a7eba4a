// TIFF, WebP, GIF, CMYK/YCCK JPEG and EXIF-oriented JPEG files written by other programs decode to Pillow's
// upright RGB (fixtures: tools/golden/make_image_formats.py; no Python needed here).
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class ImageFormatsGoldenTests
{
    public static TheoryData<string> Cases() => ImageFixtures.CaseNames("formats", "name");

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeMatchesPillowUprightRgb(string name)
    {
        var entry = ImageFixtures.Entry("formats", "name", name);
        string file = Path.Combine(ImageFixtures.Dir("formats"), entry.GetProperty("file").GetString()!);
        int width = entry.GetProperty("width").GetInt32(), height = entry.GetProperty("height").GetInt32();
        // Tolerance 0 for every case, lossy WebP included: Skia and Pillow both run libwebp (same fancy
        // upsampling, same YUV->RGB); the JPEGs go through our libjpeg-turbo-exact decoder; the rest is lossless.
        int tolerance = entry.GetProperty("tolerance").GetInt32();

        // ReadHeader reports the upright size (orientation 5..8 swap the sides) without decoding.
        ImageHeader header = ImageDecoder.ReadHeader(file);
        Assert.Equal((width, height), (header.Width, header.Height));

        RgbImage image = ImageDecoder.DecodeRgb(file);
        Assert.Equal((width, height), (image.Width, image.Height));
        byte[] expected = ImageFixtures.Bytes("formats", name + ".rgb");
        Assert.Equal(expected.Length, image.Pixels.Length);
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(expected[i] - image.Pixels[i]));
        Assert.True(worst <= tolerance, $"{name}: largest difference from Pillow {worst} > {tolerance}");
    }

    [Fact]
    public void EveryOrientationIsCovered()
    {
        // The JPEG EXIF fixtures must hold 2..8 (a generator change that drops one fails here, not silently).
        var names = ImageFixtures.Index("formats").Select(e => e.GetProperty("name").GetString()!).ToHashSet();
        for (int o = 2; o <= 8; o++)
            Assert.Contains($"jpeg_exif_orientation{o}", names);
        Assert.Equal(5, ImageDecoder.ReadHeader(Path.Combine(ImageFixtures.Dir("formats"), "jpeg_exif_orientation5.jpg")).Orientation);
        Assert.Equal(6, ImageDecoder.ReadHeader(Path.Combine(ImageFixtures.Dir("formats"), "tiff_orientation6.tif")).Orientation);
    }

    [Theory]
    [InlineData("tiff_rgb8_lzw_predictor.tif", ImageFormat.Tiff)]
    [InlineData("tiff_rgb16_bigendian_tiles.tif", ImageFormat.Tiff)]
    [InlineData("webp_lossy.webp", ImageFormat.WebP)]
    [InlineData("gif_still.gif", ImageFormat.Gif)]
    public void SignatureChoosesTheFormat(string file, ImageFormat format) =>
        Assert.Equal(format, ImageDecoder.ReadHeader(Path.Combine(ImageFixtures.Dir("formats"), file)).Format);
}
