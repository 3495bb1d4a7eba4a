// PNG encoder for 8-bit grey and RGB images (overlays, masks); per-row filter chosen by the minimum-sum heuristic.
using System.Buffers.Binary;
using System.IO.Compression;

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

        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, level, leaveOpen: true))
        {
            var candidate = new byte[rowBytes];
            var best = new byte[rowBytes + 1];
            for (int y = 0; y < image.Height; y++)
            {
                ReadOnlySpan<byte> row = image.Pixels.AsSpan(y * rowBytes, rowBytes);
                ReadOnlySpan<byte> previous = y == 0 ? default : image.Pixels.AsSpan((y - 1) * rowBytes, rowBytes);
                long bestScore = long.MaxValue;
                // libpng's heuristic: the filter whose output, read as signed bytes, has the smallest absolute sum.
                for (int type = PngFilters.None; type <= PngFilters.Paeth; type++)
                {
                    PngFilters.Apply(type, row, previous, channels, candidate);
                    long score = 0;
                    foreach (byte b in candidate)
                        score += Math.Abs((int)(sbyte)b);
                    if (score < bestScore)
                    {
                        bestScore = score;
                        best[0] = (byte)type;
                        candidate.CopyTo(best, 1);
                    }
                }
                zlib.Write(best);
            }
        }
        WriteChunk(output, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND", []);
        return output.ToArray();
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
