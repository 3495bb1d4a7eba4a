// Every fixture file decodes to exactly Pillow's Image.open(f).convert('RGB') and convert('L') bytes.
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class ImageDecoderGoldenTests
{
    public static TheoryData<string> Cases() => ImageFixtures.CaseNames("decode", "name");

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeMatchesPillowConvert(string name)
    {
        var entry = ImageFixtures.Entry("decode", "name", name);
        string file = Path.Combine(ImageFixtures.Dir("decode"), entry.GetProperty("file").GetString()!);
        int width = entry.GetProperty("width").GetInt32(), height = entry.GetProperty("height").GetInt32();

        ImageHeader header = ImageDecoder.ReadHeader(file);
        Assert.Equal((width, height), (header.Width, header.Height));

        PixelImage image = ImageDecoder.Decode(file);
        Assert.Equal((width, height), (image.Width, image.Height));
        // Exact: PIL's decoders and mode conversions are integer code, so any difference is a semantic mismatch.
        Assert.Equal(0, ImageFixtures.CountDifferences(ImageFixtures.Bytes("decode", name + ".rgb"), image.ToRgb().Pixels));
        Assert.Equal(0, ImageFixtures.CountDifferences(ImageFixtures.Bytes("decode", name + ".grey"), image.ToGrey().Pixels));
    }
}
