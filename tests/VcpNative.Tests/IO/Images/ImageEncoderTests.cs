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
    [InlineData(1, 1, 3)]
    [InlineData(37, 19, 3)]
    [InlineData(64, 3, 1)]
    [InlineData(5, 40, 1)]
    [InlineData(128, 9, 3)]
    public void PngRowsAreFilteredAsThePerByteReference(int w, int h, int channels)
    {
        // The encoder's filters and score run in per-type loops and vectors; this is the plain per-byte definition
        // (PNG spec section 9, libpng's minimum-sum choice), so a wrong filter, edge byte or score changes the stream.
        foreach (bool smooth in new[] { false, true })
        {
            byte[] px = RandomBytes(w * h * channels, (w * 7) + h, smooth);
            PixelImage image = channels == 3 ? new RgbImage(w, h, px) : new GreyImage(w, h, px);
            Assert.Equal(ReferenceFilteredRows(px, w * channels, h, channels), InflatedImageData(PngEncoder.Encode(image)));
        }
    }

    private static byte[] ReferenceFilteredRows(byte[] px, int rowBytes, int h, int bpp)
    {
        var result = new List<byte>();
        for (int y = 0; y < h; y++)
        {
            byte[]? best = null;
            long bestScore = long.MaxValue;
            for (int type = 0; type <= 4; type++)
            {
                var candidate = new byte[rowBytes + 1];
                candidate[0] = (byte)type;
                long score = 0;
                for (int i = 0; i < rowBytes; i++)
                {
                    int a = i >= bpp ? px[(y * rowBytes) + i - bpp] : 0;
                    int b = y > 0 ? px[((y - 1) * rowBytes) + i] : 0;
                    int c = y > 0 && i >= bpp ? px[((y - 1) * rowBytes) + i - bpp] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    int paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                    int prediction = type switch { 1 => a, 2 => b, 3 => (a + b) >> 1, 4 => paeth, _ => 0 };
                    candidate[i + 1] = (byte)(px[(y * rowBytes) + i] - prediction);
                    score += Math.Abs((int)(sbyte)candidate[i + 1]);
                }
                if (score < bestScore)
                {
                    (best, bestScore) = (candidate, score);
                }
            }
            result.AddRange(best!);
        }
        return [.. result];
    }

    // The concatenated IDAT payload, inflated: the filter-type byte and filtered bytes of every row.
    private static byte[] InflatedImageData(byte[] png)
    {
        var idat = new MemoryStream();
        for (int offset = 8; offset < png.Length;)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            if (System.Text.Encoding.ASCII.GetString(png, offset + 4, 4) == "IDAT")
            {
                idat.Write(png, offset + 8, length);
            }
            offset += 12 + length;
        }
        idat.Position = 0;
        using var zlib = new System.IO.Compression.ZLibStream(idat, System.IO.Compression.CompressionMode.Decompress);
        var rows = new MemoryStream();
        zlib.CopyTo(rows);
        return rows.ToArray();
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
