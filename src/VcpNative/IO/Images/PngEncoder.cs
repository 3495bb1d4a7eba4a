// PNG encoder for 8-bit grey and RGB images (overlays, masks); per-row filter chosen by the minimum-sum heuristic.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VcpNative.IO.Images;

/// <summary>Writes 8-bit grey or RGB PNG files.</summary>
public static class PngEncoder
{
    /// <summary>Writes <paramref name="image"/> as a PNG file at <paramref name="path"/>.</summary>
    public static void Write(string path, PixelImage image, CompressionLevel level = CompressionLevel.Optimal)
        => File.WriteAllBytes(path, Encode(image, level));

    /// <summary>The bytes of <paramref name="image"/> as a PNG file.</summary>
    public static byte[] Encode(PixelImage image, CompressionLevel level = CompressionLevel.Optimal)
    {
        int channels = image.Channels;
        int rowBytes = image.Width * channels;
        var output = new MemoryStream();
        output.Write(PngDecoder.Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;                            // bit depth
        ihdr[9] = (byte)(channels == 3 ? 2 : 0); // colour type RGB or grey
        ihdr[10] = ihdr[11] = ihdr[12] = 0;     // deflate, adaptive filtering, no interlace
        WriteChunk(output, "IHDR", ihdr);

        // All filtered rows first, then one write: a write per row cost a call into zlib per row.
        var filtered = new byte[(rowBytes + 1) * image.Height];
        var candidate = new byte[rowBytes];
        for (int y = 0; y < image.Height; y++)
        {
            ReadOnlySpan<byte> row = image.Pixels.AsSpan(y * rowBytes, rowBytes);
            ReadOnlySpan<byte> previous = y == 0 ? default : image.Pixels.AsSpan((y - 1) * rowBytes, rowBytes);
            var best = filtered.AsSpan(y * (rowBytes + 1), rowBytes + 1);
            long bestScore = long.MaxValue;
            // libpng's heuristic: the filter whose output, read as signed bytes, has the smallest absolute sum.
            for (int type = PngFilters.None; type <= PngFilters.Paeth; type++)
            {
                PngFilters.Apply(type, row, previous, channels, candidate);
                long score = SignedMagnitudeSum(candidate);
                if (score < bestScore)
                {
                    bestScore = score;
                    best[0] = (byte)type;
                    candidate.CopyTo(best[1..]);
                }
            }
        }
        var compressed = new MemoryStream(filtered.Length / 2 + 64);
        using (var zlib = new ZLibStream(compressed, level, leaveOpen: true))
        {
            zlib.Write(filtered);
        }
        WriteChunk(output, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    // Sum of |b| over the bytes read as signed (sbyte); |-128| = 128, which Abs on sbyte lanes gives as the byte 0x80.
    private static long SignedMagnitudeSum(ReadOnlySpan<byte> bytes)
    {
        long sum = 0;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && bytes.Length >= Vector256<byte>.Count)
        {
            var total = Vector256<uint>.Zero;
            ref byte start = ref MemoryMarshal.GetReference(bytes);
            for (; i <= bytes.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var magnitude = Vector256.Abs(Vector256.LoadUnsafe(ref start, (nuint)i).AsSByte()).AsByte();
                var (low, high) = Vector256.Widen(magnitude);
                var (a, b) = Vector256.Widen(low + high);
                total += a + b;
            }
            sum = Vector256.Sum(total);
        }
        for (; i < bytes.Length; i++)
            sum += Math.Abs((int)(sbyte)bytes[i]);
        return sum;
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> payload)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, payload.Length);
        output.Write(word);
        var typeAndPayload = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(typeAndPayload, PngDecoder.ChunkType(type));
        payload.CopyTo(typeAndPayload.AsSpan(4));
        output.Write(typeAndPayload);
        BinaryPrimitives.WriteUInt32BigEndian(word, PngCrc.Compute(typeAndPayload));
        output.Write(word);
    }
}
