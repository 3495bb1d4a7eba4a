// The resource bounds docs/robustness.md states, each checked with a hostile input built here: refused from its
// header with a one-line message naming what is wrong, or read within the target's allocation bound.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using VcpNative.FuzzTargets;
using Xunit;

namespace VcpNative.Tests.Fuzz;

public class ResourceBoundTests
{
    [Fact]
    public void PngZlibBombInflatesOnlyWhatTheHeaderDeclares()
    {
        // 16x16 grey (272 filtered bytes) whose IDAT inflates to 200 MB of zeros: the inflater stops at 272.
        var png = Png(16, 16, new byte[200_000_000]);
        var outcome = Expect("png", png, FuzzVerdict.Accepted, null);
        Assert.True(outcome.AllocatedBytes < 4L << 20, $"{outcome.AllocatedBytes} bytes allocated for a 16x16 image");
    }

    [Fact]
    public void ImageDimensionsBeyondTheLimitsAreRefusedFromTheHeader()
    {
        var outcome = Expect("png", Png(100_000, 100_000, new byte[100]), FuzzVerdict.Refused, "expected at most 4096 pixels a side and 16777216 pixels, found 100000x100000");
        Assert.True(outcome.AllocatedBytes < 1L << 20, $"{outcome.AllocatedBytes} bytes allocated before refusing");
    }

    [Fact]
    public void TiffStripByteCountBeyondTheFileIsRefusedBeforeLibTiff()
    {
        // A one-strip 64x64 grey TIFF whose StripByteCounts claims 1 GB: LibTiff.NET would allocate it.
        var tiff = Tiff(64, 64, stripByteCount: 1 << 30);
        Expect("tiff", tiff, FuzzVerdict.Refused, "tag 279's strip/tile offsets and byte counts within the file");
        Assert.Equal(FuzzVerdict.Accepted, FuzzTargetList.Find("tiff").Run(Tiff(64, 64, stripByteCount: 64 * 64)).Verdict);
    }

    [Fact]
    public void ZipEntryClaimingMoreThanDeflateCanProduceIsRefused()
    {
        var zip = FuzzTargetList.TorchZipAround([0x80, 0x02, (byte)'}', (byte)'.']);
        // Re-declare the first entry as deflated with 4 GB inflated from its few stored bytes.
        int central = IndexOf(zip, [(byte)'P', (byte)'K', 1, 2]);
        BinaryPrimitives.WriteUInt16LittleEndian(zip.AsSpan(central + 10), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(central + 24), 0xFFFFFFFE);
        Expect("torchzip", zip, FuzzVerdict.Refused, "declares 4294967294 bytes inflated from 4, beyond deflate's 1032:1 or one array (zip bomb?)");
    }

    [Fact]
    public void PickleNestedDeeperThanTheBoundIsRefusedNotAStackOverflow()
    {
        const int depth = 200_000;
        var pickle = new List<byte> { 0x80, 0x02 };
        pickle.AddRange(Enumerable.Repeat((byte)']', depth)); // EMPTY_LIST
        pickle.AddRange(Enumerable.Repeat((byte)'a', depth - 1)); // APPEND: each list into the one below
        pickle.Add((byte)'.');
        Expect("pickle", [.. pickle], FuzzVerdict.Refused, "object tree nests deeper than 64 levels");
    }

    [Fact]
    public void PickleReferenceBombIsRefused()
    {
        // L0 = []; L(i) = [L(i-1), L(i-1)] through the memo, 63 times: 2^64 nodes from 1 KB.
        var pickle = new List<byte> { 0x80, 0x02, (byte)']' };
        Put(pickle, 0);
        pickle.Add((byte)'0');
        for (uint i = 1; i < 64; i++)
        {
            pickle.Add((byte)'(');
            Get(pickle, i - 1);
            Get(pickle, i - 1);
            pickle.Add((byte)'l');
            Put(pickle, i);
            pickle.Add((byte)'0');
        }
        Get(pickle, 63);
        pickle.Add((byte)'.');
        Expect("pickle", [.. pickle], FuzzVerdict.Refused, "object tree expands to more than");

        static void Put(List<byte> p, uint slot) { p.Add((byte)'r'); p.AddRange(BitConverter.GetBytes(slot)); }
        static void Get(List<byte> p, uint slot) { p.Add((byte)'j'); p.AddRange(BitConverter.GetBytes(slot)); }
    }

    [Fact]
    public void PickleMemoFloodStaysWithinTheAllocationBound()
    {
        // 300 000 LONG_BINPUTs of one list: the memo grows with the file, never beyond the bound.
        var pickle = new List<byte> { 0x80, 0x02, (byte)']' };
        for (uint i = 0; i < 300_000; i++)
        {
            pickle.Add((byte)'r');
            pickle.AddRange(BitConverter.GetBytes(i));
        }
        pickle.Add((byte)'.');
        Expect("pickle", [.. pickle], FuzzVerdict.Accepted, null);
    }

    [Theory]
    [InlineData("[1099511627776, 1099511627776]", "[0, 16]", "shape [1099511627776, 1099511627776] is too large")]
    [InlineData("[4]", "[0, 1125899906842624]", "data_offsets [0, 1125899906842624) outside the 16-byte data section")]
    public void SafetensorsAbsurdShapesAndOffsetsAreRefusedFromTheHeader(string shape, string offsets, string message)
    {
        var header = Encoding.UTF8.GetBytes($"{{\"w\": {{\"dtype\": \"F32\", \"shape\": {shape}, \"data_offsets\": {offsets}}}}}");
        Expect("safetensors", Safetensors(header, new byte[16]), FuzzVerdict.Refused, message);
    }

    [Fact]
    public void SafetensorsHeaderLengthBeyondTheFileIsRefused()
    {
        var file = new byte[10];
        BinaryPrimitives.WriteUInt64LittleEndian(file, 1UL << 62);
        file[8] = (byte)'{';
        file[9] = (byte)'}';
        Expect("safetensors", file, FuzzVerdict.Refused, "header length 4611686018427387904 does not fit in a file of 10 bytes");
    }

    [Theory]
    [InlineData("safetensors", "{\"a\":", "}", "header is not valid JSON: The maximum configured depth of 64 has been exceeded")]
    [InlineData("metajson", "{\"test\":", "}", "is not valid JSON: The maximum configured depth of 64 has been exceeded")]
    [InlineData("threshold", "{\"Threshold\":", "}", "The maximum configured depth of 64 has been exceeded")]
    public void DeeplyNestedJsonIsRefusedAtDepth64(string target, string open, string close, string message)
    {
        var json = Encoding.UTF8.GetBytes(open + new string('[', 10_000) + new string(']', 10_000) + close);
        var input = target == "safetensors" ? Safetensors(json, []) : json;
        Expect(target, input, FuzzVerdict.Refused, message);
    }

    private static FuzzOutcome Expect(string target, byte[] input, FuzzVerdict verdict, string? message)
    {
        var outcome = FuzzTargetList.Find(target).Run(input);
        Assert.True(outcome.Verdict == verdict, $"expected {verdict}, got {outcome}");
        if (message is not null)
        {
            Assert.Contains(message, outcome.Exception!.Message);
            Assert.DoesNotContain("\n", outcome.Exception.Message);
        }
        return outcome;
    }

    private static byte[] Png(int width, int height, byte[] raw)
    {
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            z.Write(raw);
        }
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // 8-bit grey
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", idat.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();

        static void Chunk(Stream s, string type, byte[] data)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
            Encoding.ASCII.GetBytes(type, head.AsSpan(4));
            s.Write(head);
            s.Write(data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, VcpNative.IO.Images.PngCrc.Compute([.. head.AsSpan(4), .. data]));
            s.Write(crc);
        }
    }

    /// <summary>A little-endian, uncompressed, one-strip 8-bit grey TIFF with the given StripByteCounts.</summary>
    private static byte[] Tiff(int width, int height, uint stripByteCount)
    {
        (ushort Tag, ushort Type, uint Value)[] entries =
        [
            (256, 4, (uint)width), (257, 4, (uint)height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, 0), (277, 3, 1), (278, 4, (uint)height), (279, 4, stripByteCount),
        ];
        int ifdSize = 2 + (12 * entries.Length) + 4;
        int dataAt = 8 + ifdSize;
        var file = new byte[dataAt + (width * height)];
        "II*\0"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), (ushort)entries.Length);
        for (int i = 0; i < entries.Length; i++)
        {
            var e = file.AsSpan(10 + (12 * i));
            BinaryPrimitives.WriteUInt16LittleEndian(e, entries[i].Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(e[2..], entries[i].Type);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], 1);
            uint value = entries[i].Tag == 273 ? (uint)dataAt : entries[i].Value;
            if (entries[i].Type == 3)
                BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)value);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(e[8..], value);
        }
        return file;
    }

    private static byte[] Safetensors(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    private static int IndexOf(byte[] data, byte[] pattern) => data.AsSpan().IndexOf(pattern);
}
