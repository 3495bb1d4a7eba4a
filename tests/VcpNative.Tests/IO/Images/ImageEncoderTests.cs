// PNG and BMP encoders round-trip through the (PIL-verified) decoders bit-exactly.
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class ImageEncoderTests
{
    private static byte[] RandomBytes(int n, int seed, bool smooth)
    {
        var rng = new Random(seed);
        var b = new byte[n];
        for (int i = 0; i < n; i++)
            b[i] = smooth ? (byte)(i / 7 + rng.Next(3)) : (byte)rng.Next(256); // smooth rows make every filter win somewhere
        return b;
    }

    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(37, 19, 3)]
    [InlineData(64, 3, 1)]
    [InlineData(5, 40, 1)]
    public void PngRoundTrip(int w, int h, int channels)
    {
        foreach (bool smooth in new[] { false, true })
        {
            byte[] px = RandomBytes(w * h * channels, w * 31 + h, smooth);
            PixelImage image = channels == 3 ? new RgbImage(w, h, px) : new GreyImage(w, h, px);
            PixelImage back = ImageDecoder.Decode(PngEncoder.Encode(image), "roundtrip.png");
            Assert.Equal(channels, back.Channels);
            Assert.Equal((w, h), (back.Width, back.Height));
            Assert.Equal(px, back.Pixels);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(13, 11)] // 39-byte rows: 1 byte of padding
    [InlineData(2, 5)]   // 6-byte rows: 2 bytes of padding
    public void BmpRoundTrip(int w, int h)
    {
        byte[] px = RandomBytes(w * h * 3, w + 100 * h, false);
        PixelImage back = ImageDecoder.Decode(BmpEncoder.Encode(new RgbImage(w, h, px)), "roundtrip.bmp");
        Assert.Equal(px, back.ToRgb().Pixels);
    }

    [Fact]
    public void BmpOfGreyImageKeepsGreyValues()
    {
        byte[] px = RandomBytes(9 * 4, 5, false);
        PixelImage back = ImageDecoder.Decode(BmpEncoder.Encode(new GreyImage(9, 4, px)), "grey.bmp");
        Assert.Equal(px, back.ToGrey().Pixels); // L24 of (g,g,g) is g exactly: the weights sum to 65536
    }

    [Fact]
    public void PngFileWriteAndRead()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vcp-png-{Guid.NewGuid():N}.png");
        try
        {
            var img = new RgbImage(3, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
            PngEncoder.Write(path, img);
            Assert.Equal(img.Pixels, ImageDecoder.DecodeRgb(path).Pixels);
            Assert.Equal((ImageFormat.Png, 3, 2, true), (ImageDecoder.ReadHeader(path).Format, ImageDecoder.ReadHeader(path).Width, ImageDecoder.ReadHeader(path).Height, ImageDecoder.ReadHeader(path).IsColour));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
