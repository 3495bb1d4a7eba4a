// BMP decoder: 1/4/8-bit palette, 16/24/32-bit direct colour, BI_RGB and BI_BITFIELDS, bottom-up and top-down.
using System.Buffers.Binary;

namespace VcpNative.IO.Images;

/// <summary>
/// Matches Pillow 9.4's BmpImagePlugin + convert('RGB'/'L'): the 4th byte of 32-bit pixels is ignored, masked
/// channels of n bits scale as v*255/(2^n-1) rounded down (Pillow's BGR;15/BGR;16 unpackers), palette images whose
/// colours are all grey decode to <see cref="GreyImage"/>. RLE compression is refused.
/// </summary>
internal static class BmpDecoder
{
    private const int BiRgb = 0, BiBitfields = 3, BiAlphaBitfields = 6;

    private readonly record struct Layout(int Width, int Height, bool TopDown, int BitsPerPixel, int Compression,
        int PixelOffset, int PaletteOffset, int PaletteEntrySize, int PaletteCount, uint RedMask, uint GreenMask, uint BlueMask)
    {
        public long Stride => ((long)Width * BitsPerPixel + 31) / 32 * 4;
    }

    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string name)
    {
        Layout l = ReadLayout(data, name);
        bool colour = l.BitsPerPixel > 8 || !PaletteIsGrey(data, l);
        return new ImageHeader(ImageFormat.Bmp, l.Width, l.Height, colour);
    }

    private static Layout ReadLayout(ReadOnlySpan<byte> data, string name)
    {
        Need(data, 0, 18, name, "a BMP file header and DIB header size");
        int pixelOffset = checked((int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data[10..]), int.MaxValue));
        int headerSize = BinaryPrimitives.ReadInt32LittleEndian(data[14..]);
        int width, height, bpp, compression = BiRgb, paletteCount = 0, entrySize = 4;
        uint red = 0, green = 0, blue = 0;
        int paletteOffset = 14 + headerSize;
        if (headerSize == 12)
        {
            Need(data, 14, 12, name, "a BITMAPCOREHEADER");
            width = BinaryPrimitives.ReadUInt16LittleEndian(data[18..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(data[20..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(data[24..]);
            entrySize = 3;
        }
        else if (headerSize is 40 or 52 or 56 or 64 or 108 or 124)
        {
            Need(data, 14, 40, name, "a BITMAPINFOHEADER");
            width = BinaryPrimitives.ReadInt32LittleEndian(data[18..]);
            height = BinaryPrimitives.ReadInt32LittleEndian(data[22..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(data[28..]);
            compression = BinaryPrimitives.ReadInt32LittleEndian(data[30..]);
            paletteCount = BinaryPrimitives.ReadInt32LittleEndian(data[46..]);
            if (compression is BiBitfields or BiAlphaBitfields)
            {
                // Masks sit inside V2+ headers, or right after a 40-byte header (and then push the palette back).
                Need(data, 54, 12, name, "BI_BITFIELDS colour masks");
                red = BinaryPrimitives.ReadUInt32LittleEndian(data[54..]);
                green = BinaryPrimitives.ReadUInt32LittleEndian(data[58..]);
                blue = BinaryPrimitives.ReadUInt32LittleEndian(data[62..]);
                if (headerSize == 40)
                    paletteOffset += compression == BiAlphaBitfields ? 16 : 12;
            }
        }
        else
        {
            throw new ImageDecodeException(name, 14, "a DIB header of 12, 40, 52, 56, 64, 108 or 124 bytes", $"{headerSize} bytes");
        }

        bool topDown = height < 0;
        if (height == int.MinValue)
            throw new ImageDecodeException(name, 22, "a representable height", height.ToString());
        height = Math.Abs(height);
        if (bpp is not (1 or 4 or 8 or 16 or 24 or 32))
            throw new ImageDecodeException(name, headerSize == 12 ? 24 : 28, "1, 4, 8, 16, 24 or 32 bits per pixel", bpp.ToString());
        bool bitfieldsOk = compression is BiBitfields or BiAlphaBitfields && bpp is 16 or 32;
        if (compression != BiRgb && !bitfieldsOk)
            throw new ImageDecodeException(name, 30, "BI_RGB, or BI_BITFIELDS with 16/32 bits per pixel (RLE is not supported)", $"compression {compression} with {bpp} bits per pixel");
        if (compression == BiRgb && bpp == 16)
            (red, green, blue) = (0x7C00u, 0x03E0u, 0x001Fu);
        if (compression == BiRgb && bpp == 32)
            (red, green, blue) = (0xFF0000u, 0x00FF00u, 0x0000FFu);
        if (bpp <= 8)
        {
            int max = 1 << bpp;
            if (paletteCount <= 0 || paletteCount > max)
                paletteCount = max;
            Need(data, paletteOffset, (long)paletteCount * entrySize, name, $"a colour table of {paletteCount} entries");
        }
        else
        {
            // Direct colour: a colour-table count in the header is ignored (as Pillow does), never read as a palette.
            paletteCount = 0;
        }
        if (width <= 0)
            throw new ImageDecodeException(name, 18, "a positive width", width.ToString());
        return new Layout(width, height, topDown, bpp, compression, pixelOffset, paletteOffset, entrySize, paletteCount, red, green, blue);
    }

    public static PixelImage Decode(ReadOnlySpan<byte> data, string name)
    {
        Layout l = ReadLayout(data, name);
        long stride = l.Stride;
        // The last row only needs its pixels, not its padding (some writers drop the final pad bytes).
        long needed = stride * (l.Height - 1) + ((long)l.Width * l.BitsPerPixel + 7) / 8;
        Need(data, l.PixelOffset, needed, name, $"{l.Height} rows of {stride} bytes of pixel data");

        bool grey = l.BitsPerPixel <= 8 && PaletteIsGrey(data, l);
        int channels = grey ? 1 : 3;
        var pixels = new byte[checked(l.Width * l.Height * channels)];
        Span<byte> palette = stackalloc byte[256 * 3]; // RGB triples, zero past the stored entries
        palette.Clear();
        for (int i = 0; i < l.PaletteCount; i++)
        {
            int e = l.PaletteOffset + i * l.PaletteEntrySize;
            palette[3 * i] = data[e + 2];
            palette[3 * i + 1] = data[e + 1];
            palette[3 * i + 2] = data[e];
        }
        var red = new MaskChannel(l.RedMask);
        var green = new MaskChannel(l.GreenMask);
        var blue = new MaskChannel(l.BlueMask);

        for (int y = 0; y < l.Height; y++)
        {
            int storedRow = l.TopDown ? y : l.Height - 1 - y;
            ReadOnlySpan<byte> src = data.Slice((int)(l.PixelOffset + storedRow * stride), (int)Math.Min(stride, data.Length - (l.PixelOffset + storedRow * stride)));
            Span<byte> dst = pixels.AsSpan(y * l.Width * channels, l.Width * channels);
            switch (l.BitsPerPixel)
            {
                case 24:
                    for (int x = 0; x < l.Width; x++)
                    {
                        dst[3 * x] = src[3 * x + 2];
                        dst[3 * x + 1] = src[3 * x + 1];
                        dst[3 * x + 2] = src[3 * x];
                    }
                    break;
                case 16:
                case 32:
                    int bytes = l.BitsPerPixel / 8;
                    for (int x = 0; x < l.Width; x++)
                    {
                        uint v = bytes == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * x)..]) : BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * x)..]);
                        dst[3 * x] = red.Extract(v);
                        dst[3 * x + 1] = green.Extract(v);
                        dst[3 * x + 2] = blue.Extract(v);
                    }
                    break;
                default:
                    int bpp = l.BitsPerPixel;
                    for (int x = 0; x < l.Width; x++)
                    {
                        int bit = x * bpp;
                        int index = (src[bit >> 3] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
                        if (grey)
                        {
                            dst[x] = palette[3 * index];
                        }
                        else
                        {
                            dst[3 * x] = palette[3 * index];
                            dst[3 * x + 1] = palette[3 * index + 1];
                            dst[3 * x + 2] = palette[3 * index + 2];
                        }
                    }
                    break;
            }
        }
        return grey ? new GreyImage(l.Width, l.Height, pixels) : new RgbImage(l.Width, l.Height, pixels);
    }

    private static bool PaletteIsGrey(ReadOnlySpan<byte> data, in Layout l)
    {
        for (int i = 0; i < l.PaletteCount; i++)
        {
            int e = l.PaletteOffset + i * l.PaletteEntrySize;
            if (data[e] != data[e + 1] || data[e + 1] != data[e + 2])
                return false;
        }
        return true;
    }

    private static void Need(ReadOnlySpan<byte> data, long offset, long count, string name, string what)
    {
        if (offset < 0 || offset + count > data.Length)
            throw new ImageDecodeException(name, offset, what, $"{Math.Max(0, data.Length - offset)} bytes left (truncated file)");
    }

    /// <summary>One BI_BITFIELDS channel: shift, width, and Pillow's v*255/max scaling to 8 bits.</summary>
    private readonly struct MaskChannel
    {
        private readonly uint _mask;
        private readonly int _shift;
        private readonly uint _max;

        public MaskChannel(uint mask)
        {
            _mask = mask;
            _shift = mask == 0 ? 0 : System.Numerics.BitOperations.TrailingZeroCount(mask);
            _max = mask >> _shift;
        }

        public byte Extract(uint pixel)
        {
            if (_max == 0)
                return 0;
            uint v = (pixel & _mask) >> _shift;
            return _max == 255 ? (byte)v : (byte)((ulong)v * 255 / _max);
        }
    }
}
