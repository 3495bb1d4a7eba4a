// One Huffman table from a DHT segment, expanded for decoding: a 9-bit direct lookup plus canonical per-length limits for longer codes.
namespace VcpNative.IO.Images;

internal sealed class JpegHuffmanTable
{
    /// <summary>Codes up to this many bits resolve in one table lookup; most symbols in real files are this short.</summary>
    public const int FastBits = 9;

    /// <summary>Indexed by the next FastBits bits: (code length &lt;&lt; 8) | symbol, or 0 when the code is longer.</summary>
    public readonly ushort[] Fast = new ushort[1 << FastBits];

    /// <summary>Largest code of each length (1..16), -1 when that length has no codes; index 17 is a sentinel.</summary>
    public readonly int[] MaxCode = new int[18];

    /// <summary>Index in Symbols of the first code of each length, minus that code.</summary>
    public readonly int[] ValueOffset = new int[17];

    public readonly byte[] Symbols = new byte[256];

    /// <summary>Builds the canonical code (JPEG Annex C); returns null when the lengths over-fill the code space.</summary>
    public static string? Build(JpegHuffmanTable table, ReadOnlySpan<byte> countsPerLength, ReadOnlySpan<byte> symbols)
    {
        symbols.CopyTo(table.Symbols);
        Array.Clear(table.Fast);
        int code = 0;
        int k = 0;
        for (int length = 1; length <= 16; length++)
        {
            int count = countsPerLength[length - 1];
            table.ValueOffset[length] = k - code;
            if (count == 0)
            {
                table.MaxCode[length] = -1;
            }
            else
            {
                for (int i = 0; i < count; i++, k++, code++)
                {
                    // Checked per code, not only after the length: an over-full length would index past Fast first
                    // (found by the mutation pass, now tests/VcpNative.Tests/Fuzz/FuzzMutationPassTests).
                    if (code >= 1 << length)
                    {
                        return $"Huffman code lengths over-fill the code space at length {length}";
                    }
                    if (length <= FastBits)
                    {
                        // Every FastBits-bit pattern starting with this code maps to it.
                        int shift = FastBits - length;
                        int first = code << shift;
                        ushort entry = (ushort)((length << 8) | symbols[k]);
                        for (int j = 0; j < 1 << shift; j++)
                        {
                            table.Fast[first + j] = entry;
                        }
                    }
                }

                table.MaxCode[length] = code - 1;
            }

            if (code > 1 << length)
            {
                return $"Huffman code lengths over-fill the code space at length {length}";
            }

            code <<= 1;
        }

        table.MaxCode[17] = int.MaxValue;
        return null;
    }
}
