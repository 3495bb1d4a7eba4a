// TIFF / WebP / GIF / CMYK JPEG inputs that are oversized, truncated or damaged fail with a one-line
// ImageDecodeException (never a library's own exception, never a huge allocation).
using System.Buffers.Binary;
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class ImageFormatsErrorTests
{
    private static byte[] Fixture(string file) => ImageFixtures.Bytes("formats", file);

    private static ImageDecodeException DecodeFails(byte[] data, string name)
    {
        var ex = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(data, name));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.StartsWith(name + ": ", ex.Message);
        return ex;
    }

    /// <summary>Decoding must be refused from the header: the allocation stays far below the announced pixels.</summary>
    private static void RefusedFromHeader(byte[] data, string name, string size)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var header = DecodeFails(data, name);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(size, header.Message);
        Assert.True(allocated < 16 << 20, $"{allocated} bytes allocated before refusing {size}");
        Assert.Throws<ImageDecodeException>(() => ImageSizeLimits.Default.Check(ImageDecoder.ReadHeader(data, name), name));
    }

    [Fact]
    public void HugeTiffIsRefusedFromItsDirectory()
    {
        byte[] tiff = Fixture("tiff_rgb8_lzw_predictor.tif");
        SetTiffLong(tiff, 256, 200_000);
        SetTiffLong(tiff, 257, 100_000);
        RefusedFromHeader(tiff, "bomb.tif", "200000x100000");
    }

    [Fact]
    public void HugeWebPIsRefusedFromItsHeader()
    {
        // VP8X canvas (24-bit sides): 1,000,000 x 900,000.
        byte[] webp = Fixture("webp_lossy_alpha.webp");
        Assert.True(webp.AsSpan(12, 4).SequenceEqual("VP8X"u8));
        WriteUInt24(webp, 24, 1_000_000 - 1);
        WriteUInt24(webp, 27, 900_000 - 1);
        RefusedFromHeader(webp, "bomb.webp", "1000000x900000");
    }

    [Fact]
    public void HugeGifIsRefusedFromItsHeader()
    {
        byte[] gif = Fixture("gif_still.gif");
        BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(6), 65535);
        BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(8), 65000);
        RefusedFromHeader(gif, "bomb.gif", "65535x65000");
    }

    [Theory]
    [InlineData("tiff_rgb8_lzw_predictor.tif")]
    [InlineData("tiff_grey16_pil.tif")]
    [InlineData("tiff_rgb8_deflate_tiles16.tif")]
    [InlineData("webp_lossless.webp")]
    [InlineData("webp_lossy.webp")]
    [InlineData("gif_still.gif")]
    [InlineData("gif_interlaced.gif")]
    [InlineData("jpeg_cmyk.jpg")]
    [InlineData("jpeg_ycck.jpg")]
    public void TruncatedFileIsRefused(string file)
    {
        byte[] data = Fixture(file);
        var cuts = new List<int> { 3, 20, data.Length / 2, data.Length * 3 / 4 };
        // libtiff writes the directory after the pixels and its last bytes are ancillary values (white point,
        // chromaticities); losing only those still decodes, so for TIFF the cut must reach pixels or directory.
        if (!file.EndsWith(".tif", StringComparison.Ordinal))
            cuts.Add(data.Length - 30);
        foreach (int keep in cuts)
            DecodeFails(data[..keep], "cut" + Path.GetExtension(file));
    }

    [Theory]
    [InlineData("tiff_rgb8_none_strips4.tif")]
    [InlineData("tiff_rgb8_lzw_predictor.tif")]
    [InlineData("tiff_rgb8_packbits.tif")]
    [InlineData("tiff_palette4_tiles.tif")]
    [InlineData("tiff_multipage_lzw.tif")]
    [InlineData("webp_lossless.webp")]
    [InlineData("webp_lossy_alpha.webp")]
    [InlineData("gif_transparent.gif")]
    [InlineData("gif_animated.gif")]
    [InlineData("jpeg_ycck.jpg")]
    public void GarbageInTheMiddleDecodesOrFailsCleanly(string file)
    {
        // Damaged pixel data may still decode (to other pixels); any failure must be an ImageDecodeException.
        byte[] original = Fixture(file);
        var random = new Random(7);
        for (int trial = 0; trial < 20; trial++)
        {
            byte[] data = (byte[])original.Clone();
            int start = random.Next(8, data.Length - 40);
            random.NextBytes(data.AsSpan(start, 32));
            try
            {
                var image = ImageDecoder.Decode(data, "damaged" + Path.GetExtension(file));
                Assert.True(image.Width > 0 && image.Height > 0);
            }
            catch (ImageDecodeException e)
            {
                Assert.DoesNotContain('\n', e.Message);
            }
        }
    }

    [Fact]
    public void UnsupportedTiffLayoutNamesWhatItFound()
    {
        // A 32-bit float sample format: refused with the layout in the message.
        byte[] tiff = Fixture("tiff_rgb8_none_strips4.tif");
        AddOrSetTiffShort(tiff, 339, 3);
        var ex = DecodeFails(tiff, "float.tif");
        Assert.Contains("IEEEFP", ex.Message);
    }

    /// <summary>Rewrites IFD0 entry <paramref name="tag"/> of a little-endian TIFF as one LONG.</summary>
    private static void SetTiffLong(byte[] tiff, ushort tag, uint value)
    {
        int entry = FindEntry(tiff, tag);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(entry + 2), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(entry + 4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(entry + 8), value);
    }

    /// <summary>Turns an existing IFD0 entry that holds one SHORT into <paramref name="tag"/> = value; the directory
    /// stays sorted because the entry taken is the one just before where <paramref name="tag"/> would go.</summary>
    private static void AddOrSetTiffShort(byte[] tiff, ushort tag, ushort value)
    {
        int ifd = (int)BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(4));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(ifd));
        int last = ifd + 2 + (12 * (count - 1));
        Assert.True(BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(last)) < tag);
        // Reuse the last entry (an ancillary tag such as chromaticities) for the new one.
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(last), tag);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(last + 2), 3);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(last + 4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(last + 8), value);
    }

    private static int FindEntry(byte[] tiff, ushort tag)
    {
        Assert.Equal((byte)'I', tiff[0]);
        int ifd = (int)BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(4));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(ifd));
        for (int i = 0; i < count; i++)
        {
            int entry = ifd + 2 + (12 * i);
            if (BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(entry)) == tag)
                return entry;
        }
        throw new InvalidOperationException($"tag {tag} not in IFD0");
    }

    private static void WriteUInt24(byte[] data, int at, int value)
    {
        data[at] = (byte)value;
        data[at + 1] = (byte)(value >> 8);
        data[at + 2] = (byte)(value >> 16);
    }
}
