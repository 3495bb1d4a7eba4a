// Minimal PNG encoder (8-bit grey or RGB, filter None, zlib) for the synthetic dataset; to be replaced by IO.Images.PngEncoder on merge.
using System.IO.Compression;

namespace VcpNative.Anomaly.Synthetic;

/// <summary>
/// Writes just enough PNG for the generator (signature, IHDR, one IDAT, IEND) so this folder does not depend on the image
/// codecs being written in parallel. TODO(merge): replace with VcpNative.IO.Images.PngEncoder.
/// </summary>
internal static class SyntheticPngWriter
{
    private static readonly uint[] CrcTable = MakeCrcTable();

    public static void Write(string path, ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (channels is not (1 or 3))
        {
            throw new ArgumentException($"PNG writer supports 1 or 3 channels, got {channels}");
        }

        if (pixels.Length != width * height * channels)
        {
            throw new ArgumentException($"expected {width}x{height}x{channels} = {width * height * channels} bytes, got {pixels.Length}");
        }

        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        Span<byte> ihdr = stackalloc byte[13];
        WriteBigEndian(ihdr, (uint)width);
        WriteBigEndian(ihdr[4..], (uint)height);
        ihdr[8] = 8;                                // bit depth
        ihdr[9] = channels == 1 ? (byte)0 : (byte)2; // colour type: grey / truecolour
        ihdr[10] = 0;                               // deflate
        ihdr[11] = 0;                               // adaptive filtering (we use filter None on every row)
        ihdr[12] = 0;                               // no interlace
        WriteChunk(file, "IHDR"u8, ihdr);

        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            int stride = width * channels;
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0);
                z.Write(pixels.Slice(y * stride, stride));
            }
        }

        WriteChunk(file, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(file, "IEND"u8, []);
        File.WriteAllBytes(path, file.ToArray());
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        WriteBigEndian(word, (uint)data.Length);
        s.Write(word);
        s.Write(type);
        s.Write(data);
        uint crc = Crc32(0xFFFF_FFFFu, type);
        crc = Crc32(crc, data) ^ 0xFFFF_FFFFu;
        WriteBigEndian(word, crc);
        s.Write(word);
    }

    internal static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] MakeCrcTable()
    {
        // Reflected CRC-32 (polynomial 0xEDB88320), as specified by PNG and zlib.
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB8_8320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }

    private static void WriteBigEndian(Span<byte> dst, uint v)
    {
        dst[0] = (byte)(v >> 24);
        dst[1] = (byte)(v >> 16);
        dst[2] = (byte)(v >> 8);
        dst[3] = (byte)v;
    }
}
