// GIF, first frame, with Pillow 9.4's semantics: the canvas is the logical screen (grown to hold the frame), filled
// with the frame's transparent index (else index 0) outside the frame, and convert('RGB') looks every index up in
// the frame's palette, the transparent one included. Our own decoder rather than Skia's: Skia only hands out
// RGBA with transparent pixels zeroed, which loses the palette colour Pillow shows, and a GIF decoder is small.
using System.Buffers.Binary;

namespace VcpNative.IO.Images;

internal static class GifDecoder
{
    /// <summary>"GIF87a" or "GIF89a".</summary>
    public static bool HasSignature(ReadOnlySpan<byte> data) =>
        data.Length >= 6 && (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8));

    /// <summary>Canvas size (logical screen, grown to the first frame) from the blocks before the first image data.</summary>
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string name)
    {
        var frame = FindFirstFrame(data, name);
        return new ImageHeader(ImageFormat.Gif, frame.CanvasWidth, frame.CanvasHeight, IsColour: frame.Palette is not null);
    }

    /// <summary>Decodes the first frame into an RGB image (or grey when the file has no palette, Pillow's mode L).</summary>
    public static PixelImage Decode(ReadOnlySpan<byte> data, string name, ImageSizeLimits limits)
    {
        var frame = FindFirstFrame(data, name);
        limits.Check(new ImageHeader(ImageFormat.Gif, frame.CanvasWidth, frame.CanvasHeight, true), name);
        int cw = frame.CanvasWidth, ch = frame.CanvasHeight;
        var indices = new byte[(long)cw * ch];
        indices.AsSpan().Fill((byte)(frame.Transparent ?? 0));
        DecodeLzw(data, frame, indices, name);
        if (frame.Palette is not { } palette)
            return new GreyImage(cw, ch, indices);
        var rgb = new byte[indices.Length * 3L];
        for (long i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            // Entries past a short palette keep the grey ramp Pillow's palettes start from.
            bool inPalette = 3 * index + 2 < palette.Length;
            rgb[3 * i] = inPalette ? palette[3 * index] : (byte)index;
            rgb[(3 * i) + 1] = inPalette ? palette[(3 * index) + 1] : (byte)index;
            rgb[(3 * i) + 2] = inPalette ? palette[(3 * index) + 2] : (byte)index;
        }
        return new RgbImage(cw, ch, rgb);
    }

    private sealed record Frame(int CanvasWidth, int CanvasHeight, int X, int Y, int Width, int Height, bool Interlaced,
        byte[]? Palette, int? Transparent, int MinCodeSize, int DataOffset);

    private static Frame FindFirstFrame(ReadOnlySpan<byte> data, string name)
    {
        if (data.Length < 13)
            throw new ImageDecodeException(name, data.Length, "a 13-byte GIF header", "end of file");
        int screenW = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
        int screenH = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        int flags = data[10];
        int pos = 13;
        byte[]? global = null;
        if ((flags & 0x80) != 0)
        {
            int size = 3 << ((flags & 7) + 1);
            global = Take(data, pos, size, name, "the global colour table").ToArray();
            pos += size;
        }
        int? transparent = null;
        while (true)
        {
            if (pos >= data.Length)
                throw new ImageDecodeException(name, pos, "an image descriptor (0x2C)", "end of file");
            byte block = data[pos];
            if (block == 0x21)
            {
                if (pos + 2 > data.Length)
                    throw new ImageDecodeException(name, pos, "an extension label", "end of file");
                int label = data[pos + 1];
                int start = pos + 2;
                if (label == 0xF9 && start < data.Length && data[start] >= 4 && start + 5 <= data.Length)
                {
                    // Graphic control extension: packed flags, delay(2), transparent index.
                    transparent = (data[start + 1] & 1) != 0 ? data[start + 4] : null;
                }
                pos = SkipSubBlocks(data, start, name);
            }
            else if (block == 0x2C)
            {
                var d = Take(data, pos + 1, 9, name, "an image descriptor");
                int x = BinaryPrimitives.ReadUInt16LittleEndian(d), y = BinaryPrimitives.ReadUInt16LittleEndian(d[2..]);
                int w = BinaryPrimitives.ReadUInt16LittleEndian(d[4..]), h = BinaryPrimitives.ReadUInt16LittleEndian(d[6..]);
                int imageFlags = d[8];
                pos += 10;
                byte[]? palette = global;
                if ((imageFlags & 0x80) != 0)
                {
                    int size = 3 << ((imageFlags & 7) + 1);
                    palette = Take(data, pos, size, name, "the local colour table").ToArray();
                    pos += size;
                }
                int minCode = Take(data, pos, 1, name, "the LZW minimum code size")[0];
                if (minCode is < 1 or > 11)
                    throw new ImageDecodeException(name, pos, "an LZW minimum code size 1..11", minCode.ToString());
                // Pillow reads a palette that is the identity grey ramp as mode L: the same RGB, so it is kept.
                return new Frame(Math.Max(screenW, x + w), Math.Max(screenH, y + h), x, y, w, h, (imageFlags & 0x40) != 0,
                    palette, transparent, minCode, pos + 1);
            }
            else if (block == 0x3B)
            {
                throw new ImageDecodeException(name, pos, "an image descriptor (0x2C)", "the trailer (0x3B): a GIF without frames");
            }
            else
            {
                throw new ImageDecodeException(name, pos, "an extension (0x21) or image descriptor (0x2C)", $"0x{block:X2}");
            }
        }
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> data, int pos, int count, string name, string what)
    {
        if (pos + count > data.Length)
            throw new ImageDecodeException(name, pos, $"{what} ({count} bytes)", $"{Math.Max(0, data.Length - pos)} bytes before end of file");
        return data.Slice(pos, count);
    }

    private static int SkipSubBlocks(ReadOnlySpan<byte> data, int pos, string name)
    {
        while (true)
        {
            int size = Take(data, pos, 1, name, "a sub-block size")[0];
            pos += 1 + size;
            if (size == 0)
                return pos;
            if (pos > data.Length)
                throw new ImageDecodeException(name, pos - size - 1, $"a {size}-byte sub-block", "end of file");
        }
    }

    /// <summary>Variable-width LZW over the frame's sub-blocks, writing indices into the frame's rectangle of the
    /// canvas (interlaced rows in GIF's 4-pass order). Stops at the end code or when the frame is full.</summary>
    private static void DecodeLzw(ReadOnlySpan<byte> data, Frame frame, byte[] canvas, string name)
    {
        const int MaxCodes = 4096;
        var prefix = new short[MaxCodes];
        var suffix = new byte[MaxCodes];
        var stack = new byte[MaxCodes + 1];
        int clear = 1 << frame.MinCodeSize, end = clear + 1;
        int codeSize = frame.MinCodeSize + 1, next = clear + 2, previous = -1;
        byte first = 0;
        for (int i = 0; i < clear; i++)
            suffix[i] = (byte)i;

        long total = (long)frame.Width * frame.Height, written = 0;
        int pos = frame.DataOffset, blockLeft = 0, bitCount = 0;
        uint bits = 0;
        while (written < total)
        {
            while (bitCount < codeSize)
            {
                if (blockLeft == 0)
                {
                    blockLeft = Take(data, pos, 1, name, "an image data sub-block size")[0];
                    pos++;
                    if (blockLeft == 0)
                        return; // block terminator before the end code: the rest of the frame keeps the fill index
                }
                bits |= (uint)Take(data, pos, 1, name, "image data")[0] << bitCount;
                pos++;
                blockLeft--;
                bitCount += 8;
            }
            int code = (int)(bits & ((1u << codeSize) - 1));
            bits >>= codeSize;
            bitCount -= codeSize;
            if (code == clear)
            {
                codeSize = frame.MinCodeSize + 1;
                next = clear + 2;
                previous = -1;
                continue;
            }
            if (code == end)
                return;
            if (previous < 0)
            {
                if (code >= clear)
                    throw new ImageDecodeException(name, pos, $"a literal LZW code below {clear} after a clear code", code.ToString());
                first = (byte)code;
                Emit(canvas, frame, ref written, first);
                previous = code;
                continue;
            }
            if (code > next || (code == next && next >= MaxCodes))
                throw new ImageDecodeException(name, pos, $"an LZW code at most {next}", code.ToString());
            int top = 0, walk = code;
            if (code == next)
            {
                stack[top++] = first;
                walk = previous;
            }
            while (walk >= clear)
            {
                stack[top++] = suffix[walk];
                walk = prefix[walk];
            }
            first = suffix[walk];
            stack[top++] = first;
            while (top > 0 && written < total)
                Emit(canvas, frame, ref written, stack[--top]);
            if (next < MaxCodes)
            {
                prefix[next] = (short)previous;
                suffix[next] = first;
                next++;
                if (next == 1 << codeSize && codeSize < 12)
                    codeSize++;
            }
            previous = code;
        }
    }

    /// <summary>Writes the <paramref name="written"/>-th index of the frame at its canvas position.</summary>
    private static void Emit(byte[] canvas, Frame frame, ref long written, byte index)
    {
        int row = (int)(written / frame.Width), x = (int)(written % frame.Width);
        int y = frame.Interlaced ? InterlacedRow(row, frame.Height) : row;
        canvas[((long)(frame.Y + y) * frame.CanvasWidth) + frame.X + x] = index;
        written++;
    }

    /// <summary>The image row of the <paramref name="n"/>-th stored row: rows 0,8,16.. then 4,12.. then 2,6.. then 1,3..</summary>
    private static int InterlacedRow(int n, int height)
    {
        int pass1 = (height + 7) / 8, pass2 = (height + 3) / 8, pass3 = (height + 1) / 4;
        if (n < pass1)
            return n * 8;
        n -= pass1;
        if (n < pass2)
            return 4 + (n * 8);
        n -= pass2;
        if (n < pass3)
            return 2 + (n * 4);
        return 1 + ((n - pass3) * 2);
    }
}
