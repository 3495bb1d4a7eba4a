// Malformed, truncated, oversized and unknown inputs fail with a one-line ImageDecodeException, never a crash or OOM.
using System.Buffers.Binary;
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class ImageDecoderErrorTests
{
    private static ImageDecodeException DecodeFails(byte[] data, ImageSizeLimits? limits = null)
    {
        var ex = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(data, "test.img", limits));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.StartsWith("test.img: at byte ", ex.Message);
        return ex;
    }

    [Fact]
    public void CorruptedIdatByteFailsTheCrc()
    {
        byte[] png = ImageFixtures.Bytes("decode", "pil_rgb8.png");
        int idat = IndexOf(png, "IDAT"u8);
        png[idat + 10] ^= 0x40;
        var ex = DecodeFails(png);
        Assert.Contains("CRC", ex.Message);
        Assert.Contains("'IDAT'", ex.Message);
    }

    [Fact]
    public void TruncatedPngNamesTheShortChunk()
    {
        byte[] png = ImageFixtures.Bytes("decode", "multi_idat.png");
        var ex = DecodeFails(png[..(png.Length / 2)]);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void TruncatedBmpIsRefused()
    {
        byte[] bmp = ImageFixtures.Bytes("decode", "pil_rgb24.bmp");
        DecodeFails(bmp[..(bmp.Length - 40)]);
    }

    [Fact]
    public void HugeDimensionsAreRefusedBeforeAllocation()
    {
        // A 33-byte-header PNG announcing 2^30 x 2^30 RGB pixels (3 EiB): must fail on the header, not in new byte[].
        byte[] png = ImageFixtures.Bytes("decode", "pil_rgb8.png");
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), 1u << 30);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), 1u << 30);
        FixCrc(png, 8);
        var ex = DecodeFails(png);
        Assert.Contains("1073741824x1073741824", ex.Message);
    }

    [Fact]
    public void ConfigurableLimitApplies()
    {
        byte[] png = ImageFixtures.Bytes("decode", "pil_rgb8.png"); // 13x11
        DecodeFails(png, new ImageSizeLimits(MaxSide: 12));
        DecodeFails(png, new ImageSizeLimits(MaxPixels: 13 * 11 - 1));
        Assert.Equal(13, ImageDecoder.Decode(png, "ok", new ImageSizeLimits(MaxSide: 13, MaxPixels: 143)).Width);
    }

    [Fact]
    public void UnknownSignatureIsRefused()
    {
        var ex = DecodeFails("XIF89a-not-an-image"u8.ToArray());
        Assert.Contains("signature", ex.Message);
        DecodeFails([]);
    }

    [Fact]
    public void BadFilterTypeIsRefused()
    {
        // Re-encode a 1x1 grey image with filter byte 7.
        byte[] png = PngEncoder.Encode(new GreyImage(1, 1, [42]));
        int idat = IndexOf(png, "IDAT"u8);
        int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(idat - 4));
        byte[] z = CompressZlib([7, 42]);
        var rebuilt = new List<byte>(png[..(idat - 4)]);
        var chunk = new byte[12 + z.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, z.Length);
        "IDAT"u8.CopyTo(chunk.AsSpan(4));
        z.CopyTo(chunk, 8);
        rebuilt.AddRange(chunk);
        rebuilt.AddRange(png[(idat + 4 + length + 4)..]);
        byte[] bad = [.. rebuilt];
        FixCrc(bad, idat - 4);
        var ex = DecodeFails(bad);
        Assert.Contains("filter type", ex.Message);
    }

    [Fact]
    public void JpegHeaderGivesDimensionsWithoutDecoding()
    {
        // SOI, APP0 (JFIF, 16 bytes), SOF0: 8-bit, height 300, width 517, 3 components.
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
            0xFF, 0xC0, 0x00, 0x11, 8, 0x01, 0x2C, 0x02, 0x05, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
        ImageHeader h = ImageDecoder.ReadHeader(jpeg, "x.jpg");
        Assert.Equal((ImageFormat.Jpeg, 517, 300, true), (h.Format, h.Width, h.Height, h.IsColour));
        // A 65535x65535 JPEG exceeds the default 2^28-pixel limit: refused before the JPEG decoder runs.
        jpeg[25] = jpeg[26] = jpeg[27] = jpeg[28] = 0xFF;
        DecodeFails(jpeg);
    }

    private static byte[] CompressZlib(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(ms, System.IO.Compression.CompressionLevel.Fastest, true))
            z.Write(raw);
        return ms.ToArray();
    }

    private static void FixCrc(byte[] png, int chunkStart)
    {
        int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(chunkStart));
        uint crc = BitwiseCrc32(png.AsSpan(chunkStart + 4, 4 + length));
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(chunkStart + 8 + length), crc);
    }

    /// <summary>Bit-at-a-time CRC-32 straight from the PNG spec's definition (independent of the table version).</summary>
    private static uint BitwiseCrc32(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++)
                c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> needle) => data.AsSpan().IndexOf(needle);
}
