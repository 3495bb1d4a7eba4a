// PNG decoder covering every colour type and bit depth of the spec, Adam7, CRC checks; output follows Pillow's modes.
using System.Buffers.Binary;
using System.IO.Compression;

namespace VcpNative.IO.Images;

/// <summary>
/// Decodes to what Pillow 9.4's <c>Image.open</c> holds, so ToRgb()/ToGrey() equal convert('RGB')/convert('L'):
/// grey 1/2/4-bit scaled to 0..255 (x255, x85, x17); 16-bit grey clipped to 255 (Pillow opens it as mode 'I' and
/// its I-to-L/RGB conversions clip); other 16-bit samples keep their high byte; alpha and tRNS are dropped without
/// compositing; palette indices map through PLTE. Verified against PIL by tests/.../Fixtures/images/decode.
/// </summary>
internal static class PngDecoder
{
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private const int Grey = 0, Rgb = 2, Palette = 3, GreyAlpha = 4, Rgba = 6;

    // Adam7 passes: first column, first row, column step, row step.
    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7Passes =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    private readonly record struct Ihdr(int Width, int Height, int BitDepth, int ColourType, bool Interlaced)
    {
        public int Channels => ColourType switch { Rgb => 3, GreyAlpha => 2, Rgba => 4, _ => 1 };
        public int BitsPerPixel => Channels * BitDepth;

        /// <summary>Filter unit: bytes per complete pixel, rounded up to 1 for sub-byte depths.</summary>
        public int FilterBpp => Math.Max(1, BitsPerPixel / 8);

        public long RowBytes(int width) => ((long)width * BitsPerPixel + 7) / 8;
        public bool IsColour => ColourType is Rgb or Palette or Rgba;
    }

    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string name)
    {
        Ihdr h = ReadIhdr(data, name);
        return new ImageHeader(ImageFormat.Png, h.Width, h.Height, h.IsColour);
    }

    private static Ihdr ReadIhdr(ReadOnlySpan<byte> data, string name)
    {
        int pos = Signature.Length;
        ReadOnlySpan<byte> payload = ReadChunk(data, pos, name, out uint type, out _);
        if (type != ChunkType("IHDR"))
            throw new ImageDecodeException(name, pos + 4, "chunk IHDR first", $"'{TypeName(type)}'");
        if (payload.Length != 13)
            throw new ImageDecodeException(name, pos, "IHDR of 13 bytes", $"{payload.Length} bytes");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(payload);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]);
        int depth = payload[8], colourType = payload[9];
        int at = pos + 8;
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw new ImageDecodeException(name, at, "width and height in 1..2^31-1", $"{width}x{height}");
        bool depthOk = colourType switch
        {
            Grey => depth is 1 or 2 or 4 or 8 or 16,
            Palette => depth is 1 or 2 or 4 or 8,
            Rgb or GreyAlpha or Rgba => depth is 8 or 16,
            _ => false,
        };
        if (!depthOk)
            throw new ImageDecodeException(name, at + 8, "a valid PNG colour type / bit depth pair", $"colour type {colourType}, bit depth {depth}");
        if (payload[10] != 0 || payload[11] != 0)
            throw new ImageDecodeException(name, at + 10, "compression method 0 and filter method 0", $"{payload[10]} and {payload[11]}");
        if (payload[12] > 1)
            throw new ImageDecodeException(name, at + 12, "interlace method 0 or 1", payload[12].ToString());
        return new Ihdr((int)width, (int)height, depth, colourType, payload[12] == 1);
    }

    public static PixelImage Decode(ReadOnlySpan<byte> data, string name)
    {
        Ihdr h = ReadIhdr(data, name);
        ReadOnlySpan<byte> palette = default;
        var idat = new MemoryStream();
        long firstIdatOffset = -1;
        int pos = Signature.Length + 25;
        while (true)
        {
            ReadOnlySpan<byte> payload = ReadChunk(data, pos, name, out uint type, out int next);
            if (type == ChunkType("IEND"))
                break;
            if (type == ChunkType("IDAT"))
            {
                if (firstIdatOffset < 0)
                    firstIdatOffset = pos + 8;
                idat.Write(payload);
            }
            else if (type == ChunkType("PLTE"))
            {
                if (payload.Length % 3 != 0 || payload.Length == 0 || payload.Length > 768)
                    throw new ImageDecodeException(name, pos, "PLTE of 3..768 bytes, a multiple of 3", $"{payload.Length} bytes");
                palette = payload;
            }
            else if ((type & 0x20000000u) == 0) // upper-case first letter = critical chunk we do not know
            {
                throw new ImageDecodeException(name, pos + 4, "a known critical chunk", $"'{TypeName(type)}'");
            }
            pos = next;
        }
        if (firstIdatOffset < 0)
            throw new ImageDecodeException(name, pos, "at least one IDAT chunk", "none before IEND");
        if (h.ColourType == Palette && palette.IsEmpty)
            throw new ImageDecodeException(name, firstIdatOffset, "a PLTE chunk before the image data of a palette image", "none");

        (int X0, int Y0, int Dx, int Dy)[] passes = h.Interlaced ? Adam7Passes : [(0, 0, 1, 1)];
        long rawLength = 0;
        foreach (var p in passes)
        {
            int pw = PassSize(h.Width, p.X0, p.Dx), ph = PassSize(h.Height, p.Y0, p.Dy);
            if (pw > 0 && ph > 0)
                rawLength += (1 + h.RowBytes(pw)) * ph;
        }
        if (rawLength > Array.MaxLength)
            throw new ImageDecodeException(name, 16, "an image whose scanlines fit in one buffer", $"{rawLength} bytes");
        byte[] raw = Inflate(idat, (int)rawLength, name, firstIdatOffset);

        int outChannels = h.IsColour ? 3 : 1;
        var pixels = new byte[checked(h.Width * h.Height * outChannels)];
        int rawPos = 0;
        foreach (var p in passes)
        {
            int pw = PassSize(h.Width, p.X0, p.Dx), ph = PassSize(h.Height, p.Y0, p.Dy);
            if (pw == 0 || ph == 0)
                continue;
            int rowBytes = (int)h.RowBytes(pw);
            Span<byte> previous = default;
            for (int row = 0; row < ph; row++)
            {
                int filterType = raw[rawPos];
                Span<byte> line = raw.AsSpan(rawPos + 1, rowBytes);
                if (!PngFilters.Unfilter(filterType, line, previous, h.FilterBpp))
                    throw new ImageDecodeException(name, firstIdatOffset, "scanline filter type 0..4 (offset is the first IDAT; the byte is inside the zlib stream)", filterType.ToString());
                int y = p.Y0 + row * p.Dy;
                ExpandRow(line, h, pw, palette, pixels.AsSpan(y * h.Width * outChannels), p.X0, p.Dx);
                previous = line;
                rawPos += 1 + rowBytes;
            }
        }
        return h.IsColour ? new RgbImage(h.Width, h.Height, pixels) : new GreyImage(h.Width, h.Height, pixels);
    }

    private static int PassSize(int size, int start, int step) => size > start ? (size - start + step - 1) / step : 0;

    private static byte[] Inflate(MemoryStream compressed, int rawLength, string name, long offset)
    {
        var raw = new byte[rawLength];
        compressed.Position = 0;
        int total = 0;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
            while (total < rawLength)
            {
                int n = zlib.Read(raw, total, rawLength - total);
                if (n == 0)
                    break;
                total += n;
            }
        }
        catch (InvalidDataException ex)
        {
            throw new ImageDecodeException(name, offset, "a valid zlib stream in the IDAT chunks", ex.Message.ReplaceLineEndings(" "));
        }
        if (total < rawLength)
            throw new ImageDecodeException(name, offset, $"{rawLength} bytes of filtered scanlines after inflating IDAT", $"{total} bytes");
        return raw;
    }

    /// <summary>Converts one unfiltered scanline of a pass into output pixels at x = x0, x0+dx, ...</summary>
    private static void ExpandRow(ReadOnlySpan<byte> line, in Ihdr h, int count, ReadOnlySpan<byte> palette, Span<byte> dstRow, int x0, int dx)
    {
        int depth = h.BitDepth;
        switch (h.ColourType)
        {
            case Grey when depth == 16:
                for (int i = 0, x = x0; i < count; i++, x += dx)
                {
                    int v = (line[2 * i] << 8) | line[2 * i + 1];
                    dstRow[x] = (byte)Math.Min(v, 255);
                }
                break;
            case Grey:
            {
                int scale = depth switch { 1 => 255, 2 => 85, 4 => 17, _ => 1 };
                for (int i = 0, x = x0; i < count; i++, x += dx)
                    dstRow[x] = (byte)(Sample(line, i, depth) * scale);
                break;
            }
            case GreyAlpha:
            {
                int stride = 2 * (depth / 8);
                for (int i = 0, x = x0; i < count; i++, x += dx)
                    dstRow[x] = line[i * stride];
                break;
            }
            case Rgb:
            case Rgba:
            {
                int sampleBytes = depth / 8, stride = h.Channels * sampleBytes;
                for (int i = 0, x = x0; i < count; i++, x += dx)
                {
                    int s = i * stride;
                    dstRow[3 * x] = line[s];
                    dstRow[3 * x + 1] = line[s + sampleBytes];
                    dstRow[3 * x + 2] = line[s + 2 * sampleBytes];
                }
                break;
            }
            default: // Palette; indices past the end of PLTE decode as black, as in an all-zero padded palette
                for (int i = 0, x = x0; i < count; i++, x += dx)
                {
                    int e = 3 * Sample(line, i, depth);
                    bool inRange = e + 2 < palette.Length;
                    dstRow[3 * x] = inRange ? palette[e] : (byte)0;
                    dstRow[3 * x + 1] = inRange ? palette[e + 1] : (byte)0;
                    dstRow[3 * x + 2] = inRange ? palette[e + 2] : (byte)0;
                }
                break;
        }
    }

    /// <summary>Sample i of a single-channel row packed MSB-first at 1/2/4/8 bits.</summary>
    private static int Sample(ReadOnlySpan<byte> line, int i, int depth)
    {
        if (depth == 8)
            return line[i];
        int bit = i * depth;
        return (line[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
    }

    /// <summary>Reads the chunk at <paramref name="pos"/>, checks bounds and CRC, returns its payload.</summary>
    private static ReadOnlySpan<byte> ReadChunk(ReadOnlySpan<byte> data, int pos, string name, out uint type, out int next)
    {
        if (pos + 12 > data.Length)
            throw new ImageDecodeException(name, pos, "a PNG chunk header (12 bytes incl. CRC)", $"{data.Length - pos} bytes left (truncated file, no IEND)");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
        type = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 4)..]);
        if (length > (uint)(data.Length - pos - 12))
            throw new ImageDecodeException(name, pos, $"chunk '{TypeName(type)}' of {length} bytes", $"{data.Length - pos - 12} bytes left (truncated file)");
        ReadOnlySpan<byte> typeAndPayload = data.Slice(pos + 4, 4 + (int)length);
        uint stored = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + (int)length)..]);
        uint actual = PngCrc.Compute(typeAndPayload);
        if (stored != actual)
            throw new ImageDecodeException(name, pos + 8 + length, $"CRC 0x{actual:X8} of chunk '{TypeName(type)}'", $"0x{stored:X8}");
        next = pos + 12 + (int)length;
        return typeAndPayload[4..];
    }

    internal static uint ChunkType(string fourCc)
        => ((uint)fourCc[0] << 24) | ((uint)fourCc[1] << 16) | ((uint)fourCc[2] << 8) | fourCc[3];

    private static string TypeName(uint type)
    {
        Span<char> c = [(char)(type >> 24), (char)((type >> 16) & 0xFF), (char)((type >> 8) & 0xFF), (char)(type & 0xFF)];
        for (int i = 0; i < 4; i++)
            if (c[i] < 0x20 || c[i] > 0x7E)
                c[i] = '?';
        return new string(c);
    }
}
