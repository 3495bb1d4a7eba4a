// A 24-bit BMP whose header claims a colour table: once an IndexOutOfRangeException in BmpDecoder.Decode (issue 20).
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class BmpColourCountTests
{
    [Fact]
    public void DirectColourFileWithAColourCountDecodesAsPillowDoesIgnoringTheCount()
    {
        var img = new RgbImage(20, 10);
        new Random(7).NextBytes(img.Pixels);
        using var temp = new TempDirectory("bmp");
        var path = Path.Combine(temp.Path, "a.bmp");
        BmpEncoder.Write(path, img);
        var bytes = File.ReadAllBytes(path);
        bytes[46] = 0xFF; // biClrUsed = 255 in a 24-bit file: the decoder read 255 palette entries past the end of the file
        var decoded = ImageDecoder.Decode(bytes, "a.bmp").ToRgb();
        Assert.Equal(img.Pixels, decoded.Pixels);
    }

    [Fact]
    public void PixelOffsetPastTheEndIsADecodeErrorNamingFileAndOffset()
    {
        var img = new RgbImage(20, 10);
        using var temp = new TempDirectory("bmp");
        var path = Path.Combine(temp.Path, "b.bmp");
        BmpEncoder.Write(path, img);
        var bytes = File.ReadAllBytes(path);
        bytes[11] = 0x7F;
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes, "b.bmp"));
        Assert.Contains("b.bmp: at byte", e.Message);
    }
}
