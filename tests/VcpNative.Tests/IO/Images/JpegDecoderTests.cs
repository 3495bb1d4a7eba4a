// Golden tests of the JPEG decoder against PIL/libjpeg-turbo decodes (tools/golden/make_jpeg_fixtures.py), plus header, size-limit and corrupt-input behaviour.
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class JpegDecoderTests
{
    private static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "jpeg");

    public static TheoryData<string> FixtureNames()
    {
        var names = new TheoryData<string>();
        foreach (string line in File.ReadAllLines(Path.Combine(FixtureDir, "manifest.txt")))
        {
            if (line.Length > 0)
            {
                names.Add(line.Split(' ')[0]);
            }
        }

        return names;
    }

    private static (int Width, int Height, int Components) ManifestEntry(string name)
    {
        foreach (string line in File.ReadAllLines(Path.Combine(FixtureDir, "manifest.txt")))
        {
            string[] f = line.Split(' ');
            if (f[0] == name)
            {
                return (int.Parse(f[1]), int.Parse(f[2]), int.Parse(f[3]));
            }
        }

        throw new InvalidOperationException($"{name} not in manifest");
    }

    private static byte[] Jpeg(string name) => File.ReadAllBytes(Path.Combine(FixtureDir, name + ".jpg"));

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void Decode_MatchesPilBitForBit(string name)
    {
        var expected = File.ReadAllBytes(Path.Combine(FixtureDir, name + ".raw"));
        var (width, height, components) = ManifestEntry(name);

        var image = JpegDecoder.Decode(Jpeg(name), name + ".jpg");

        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        Assert.Equal(components, image.Channels);
        Assert.Equal(expected.Length, image.Pixels.Length);
        int differing = 0, maxAbs = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int d = Math.Abs(expected[i] - image.Pixels[i]);
            if (d != 0)
            {
                differing++;
                maxAbs = Math.Max(maxAbs, d);
            }
        }

        // Tolerance 0: the decoder reproduces libjpeg-turbo's islow IDCT, fancy upsampling and YCbCr tables exactly,
        // so any difference is a bug, not rounding.
        Assert.True(differing == 0, $"{name}: {differing} of {expected.Length} bytes differ, max abs {maxAbs}");
    }

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void ReadHeader_ReportsSizeWithoutDecoding(string name)
    {
        var (width, height, components) = ManifestEntry(name);
        byte[] data = Jpeg(name);
        // Cut just after the frame header: ReadHeader must not need the scans.
        int sof = FindMarker(data, 0xC0, 0xC1, 0xC2);
        int sofEnd = sof + 2 + ((data[sof + 2] << 8) | data[sof + 3]);

        var header = JpegDecoder.ReadHeader(data.AsSpan(0, sofEnd), name);

        Assert.Equal((width, height, components), header);
    }

    [Theory]
    [InlineData("pil_420_q85_100x75")]
    [InlineData("pil_prog_420_q80_61x47")]
    [InlineData("lj_420_restart3_59x41")]
    [InlineData("pil_grey_q80_45x31")]
    public void Decode_TruncatedFile_ThrowsNamingFileAndOffset(string name)
    {
        byte[] data = Jpeg(name);
        int sos = FindMarker(data, 0xDA);
        int[] cuts = [0, 1, 2, 3, 10, 100, sos + 3, sos + 20, data.Length / 2, data.Length - 20, data.Length - 3, data.Length - 2];
        foreach (int cut in cuts)
        {
            var ex = Assert.Throws<JpegDecodeException>(() => JpegDecoder.Decode(data.AsSpan(0, cut), "cut.jpg"));
            Assert.Equal("cut.jpg", ex.File);
            Assert.InRange(ex.Offset, 0, cut);
            Assert.StartsWith($"cut.jpg: offset {ex.Offset}: expected ", ex.Message);
            Assert.DoesNotContain('\n', ex.Message);
        }
    }

    [Fact]
    public void Decode_GarbageBytes_ThrowsOneLineSoiError()
    {
        var garbage = new byte[300];
        new Random(7).NextBytes(garbage);
        garbage[0] = 0x12;

        var ex = Assert.Throws<JpegDecodeException>(() => JpegDecoder.Decode(garbage, "noise.bin"));

        Assert.StartsWith("noise.bin: offset 0: expected marker 0xFFD8 (SOI), found 0x12", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Decode_CorruptedBytes_OnlyEverThrowsJpegDecodeException()
    {
        // Random byte flips must either decode or fail with the decoder's own exception, never crash (index, overflow, OOM).
        var rng = new Random(1234);
        foreach (string name in new[] { "pil_420_q85_100x75", "pil_prog_420_q80_61x47", "lj_prog_420_restart2_47x35", "lj_mixed_q85_43x37" })
        {
            byte[] original = Jpeg(name);
            for (int trial = 0; trial < 150; trial++)
            {
                byte[] data = (byte[])original.Clone();
                int flips = 1 + rng.Next(4);
                for (int f = 0; f < flips; f++)
                {
                    data[rng.Next(data.Length)] = (byte)rng.Next(256);
                }

                try
                {
                    JpegDecoder.Decode(data, name, maxPixels: 1 << 20);
                }
                catch (JpegDecodeException ex)
                {
                    Assert.DoesNotContain('\n', ex.Message);
                }
            }
        }
    }

    [Fact]
    public void Decode_HugeDeclaredSize_RefusedBeforeAllocation()
    {
        byte[] data = Jpeg("pil_444_q90_37x29");
        int sof = FindMarker(data, 0xC0);
        // SOF payload: precision, height (2 bytes), width (2 bytes).
        data[sof + 5] = 65000 >> 8;
        data[sof + 6] = 65000 & 0xFF;
        data[sof + 7] = 65000 >> 8;
        data[sof + 8] = 65000 & 0xFF;

        Assert.Equal((65000, 65000, 3), JpegDecoder.ReadHeader(data, "huge.jpg"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<JpegDecodeException>(() => JpegDecoder.Decode(data, "huge.jpg"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("too large", ex.Message);
        Assert.Contains("65000x65000", ex.Message);
        // 65000^2 pixels would need gigabytes; refusing first means only small parser objects were allocated.
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes before refusing");
    }

    [Fact]
    public void Decode_Sof1ExtendedSequential_SameAsBaseline()
    {
        // 8-bit extended sequential Huffman decodes exactly like baseline; relabelling SOF0 as SOF1 must not change a pixel.
        byte[] data = Jpeg("pil_420_q85_100x75");
        data[FindMarker(data, 0xC0) + 1] = 0xC1;
        var expected = File.ReadAllBytes(Path.Combine(FixtureDir, "pil_420_q85_100x75.raw"));

        Assert.Equal(expected, JpegDecoder.Decode(data, "sof1.jpg").Pixels);
    }

    [Fact]
    public void ReadHeader_UnsupportedProcess_Throws()
    {
        var ex = Assert.Throws<JpegDecodeException>(() => JpegDecoder.ReadHeader(Jpeg("unsupported_arith"), "arith.jpg"));
        Assert.Contains("0xFFC9 (SOF9, arithmetic-coded sequential DCT)", ex.Message);
    }

    [Fact]
    public void Decode_ArithmeticCoding_RefusedNamingSof()
    {
        var ex = Assert.Throws<JpegDecodeException>(() => JpegDecoder.Decode(Jpeg("unsupported_arith"), "arith.jpg"));
        Assert.Contains("SOF9", ex.Message);
        Assert.Contains("unsupported", ex.Message);
    }

    [Fact]
    public void Decode_FiveComponents_Refused()
    {
        // Minimal SOI + SOF0 declaring 5 components (1, 3 and 4 = CMYK/YCCK are the ones JPEG files use).
        byte[] data =
        [
            0xFF, 0xD8, 0xFF, 0xC0, 0, 23, 8, 0, 16, 0, 16, 5,
            1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0, 5, 0x11, 0,
        ];
        var ex = Assert.Throws<JpegDecodeException>(() => JpegDecoder.Decode(data, "five.jpg"));
        Assert.Contains("found 5", ex.Message);
        Assert.StartsWith("five.jpg: offset 11: ", ex.Message);
    }

    private static int FindMarker(byte[] data, params byte[] codes)
    {
        for (int i = 0; i + 1 < data.Length; i++)
        {
            if (data[i] == 0xFF && Array.IndexOf(codes, data[i + 1]) >= 0)
            {
                return i;
            }
        }

        throw new InvalidOperationException("marker not found");
    }
}
