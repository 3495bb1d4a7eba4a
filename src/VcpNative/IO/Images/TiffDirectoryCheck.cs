// Checks the first TIFF directory against the file's length before LibTiff.NET sees it (issue #17): LibTiff
// allocates what tags and strip/tile byte counts declare, so a 1 KB file declaring a 2 GB strip or a tag of 10^8
// values made it allocate gigabytes and spin for tens of seconds. Every such declaration must fit in the file.
using System.Buffers.Binary;

namespace VcpNative.IO.Images;

internal static class TiffDirectoryCheck
{
    /// <summary>More entries than any real first directory has (Pillow and libtiff write under 40).</summary>
    public const int MaxEntries = 1000;

    /// <summary>
    /// Widest or tallest image handed to LibTiff (32 times the decoders' default <see cref="ImageSizeLimits.MaxSide"/>):
    /// LibTiff sizes per-row and codec buffers from the width as it opens the directory, before any limit of ours is
    /// checked, so a 352-byte file declaring a width of 67 million took 2 GB and 20 s (afl, tiff campaign).
    /// </summary>
    public const long MaxSide = 1 << 20;

    /// <summary>More samples per pixel than any image we decode (grey, RGB, CMYK, each with a few extra samples):
    /// LibTiff sizes per-sample arrays from it before refusing the directory (afl: 18761 samples, 600 MB).</summary>
    public const long MaxSamplesPerPixel = 16;

    private const ushort StripOffsets = 273, StripByteCounts = 279, TileOffsets = 324, TileByteCounts = 325;

    /// <summary>Throws <see cref="ImageDecodeException"/> naming the offset and the tag when the first directory, a
    /// tag's values, or a strip's or tile's declared bytes lie beyond the end of the file.</summary>
    public static void Check(ReadOnlySpan<byte> data, string name)
    {
        bool little = data[0] == 'I';
        long length = data.Length;
        long ifd = U32(data, 4, little, name);
        if (ifd < 8 || ifd + 2 > length)
            throw new ImageDecodeException(name, 4, $"a first directory offset inside the file ({length} bytes)", ifd.ToString());
        int entries = U16(data, ifd, little);
        if (entries > MaxEntries)
            throw new ImageDecodeException(name, ifd, $"at most {MaxEntries} directory entries", entries.ToString());
        if (ifd + 2 + (12L * entries) > length)
            throw new ImageDecodeException(name, ifd, $"{entries} directory entries inside the file ({length} bytes)", "the file ends first");
        // First values of the tags that say how many strips or tiles the image has, and the offsets tags' counts.
        long width = 0, height = 0, rowsPerStrip = uint.MaxValue, tileWidth = 0, tileLength = 0, samples = 1, planar = 1;
        long stripCount = -1, tileCount = -1, compression = 1, bitsPerSample = 1;
        Span<bool> seen = stackalloc bool[MeasuredTags.Length];
        for (int i = 0; i < entries; i++)
        {
            long at = ifd + 2 + (12L * i);
            ushort tag = (ushort)U16(data, at, little);
            // A repeated size tag: our check would read one value and LibTiff use another (TIFF 6 allows each tag once).
            int measured = Array.IndexOf(MeasuredTags, tag);
            if (measured >= 0)
            {
                if (seen[measured])
                    throw new ImageDecodeException(name, at, $"tag {tag} once in the directory", "a second entry");
                seen[measured] = true;
            }
            int type = U16(data, at + 2, little);
            long count = U32(data, at + 4, little, name);
            int size = TypeSize(type);
            if (size == 0)
                continue; // LibTiff skips unknown types without reading their values
            long bytes = count * size;
            long valuesAt = bytes <= 4 ? at + 8 : U32(data, at + 8, little, name);
            if (valuesAt + bytes > length)
                throw new ImageDecodeException(name, at, $"tag {tag}'s {count} values inside the file ({length} bytes)",
                    $"{bytes} bytes at offset {valuesAt}");
            if (count >= 1 && type is 3 or 4)
            {
                long first = type == 3 ? U16(data, valuesAt, little) : U32(data, valuesAt, little, name);
                switch (tag)
                {
                    case 256: width = first; break;
                    case 258: bitsPerSample = first; break;
                    case 259: compression = first; break;
                    case 257: height = first; break;
                    case 277: samples = first; break;
                    case 278: rowsPerStrip = first; break;
                    case 284: planar = first; break;
                    case 322: tileWidth = first; break;
                    case 323: tileLength = first; break;
                    case StripOffsets: stripCount = count; break;
                    case TileOffsets: tileCount = count; break;
                }
            }
            if (tag is StripByteCounts or TileByteCounts or StripOffsets or TileOffsets)
            {
                // Classic TIFF stores these as SHORT or LONG; LibTiff would also take LONG8 (BigTIFF's) values.
                if (type is not (3 or 4))
                    throw new ImageDecodeException(name, at, $"tag {tag} (strip/tile offsets or byte counts) of type SHORT or LONG", $"type {type}");
                for (long k = 0; k < count; k++)
                {
                    long value = type == 3 ? U16(data, valuesAt + (2 * k), little) : U32(data, valuesAt + (4 * k), little, name);
                    if (value > length)
                        throw new ImageDecodeException(name, valuesAt, $"tag {tag}'s strip/tile offsets and byte counts within the file ({length} bytes)",
                            $"{value} in value {k}");
                }
            }
        }
        CheckChunkCount(name, width, height, rowsPerStrip, tileWidth, tileLength, samples, planar, stripCount, tileCount);
        if (width > MaxSide || height > MaxSide)
            throw new ImageDecodeException(name, ifd, $"an image at most {MaxSide} pixels wide and high", $"{width}x{height}");
        if (samples > MaxSamplesPerPixel)
            throw new ImageDecodeException(name, ifd, $"at most {MaxSamplesPerPixel} samples per pixel", samples.ToString());
        // Uncompressed samples are stored in the file, so the image cannot hold more bytes than the file; LibTiff would
        // otherwise "repair" the byte counts from the declared size and allocate that much (afl: 364 bytes -> 250 MB).
        long declaredBytes = width * height * Math.Max(samples, 1) * Math.Max(bitsPerSample, 1) / 8;
        if (compression == 1 && declaredBytes > length)
            throw new ImageDecodeException(name, ifd, $"uncompressed samples within the file ({length} bytes)",
                $"{width}x{height}, {samples} samples of {bitsPerSample} bits: {declaredBytes} bytes");
    }

    /// <summary>The tags whose values the checks read: width, height, samples, rows per strip, planar, tile size, offsets.</summary>
    private static readonly ushort[] MeasuredTags = [256, 257, 277, 278, 284, 322, 323, StripOffsets, StripByteCounts, TileOffsets, TileByteCounts];

    /// <summary>LibTiff sizes its strip/tile arrays from the image and strip/tile sizes, not from the offsets tag: a
    /// 32767x65528 image of 16x16 tiles made it allocate 650 MB for six stored tiles. The tag must list them all.</summary>
    private static void CheckChunkCount(string name, long width, long height, long rowsPerStrip, long tileWidth, long tileLength,
        long samples, long planar, long stripCount, long tileCount)
    {
        bool tiled = tileCount >= 0 && tileWidth > 0 && tileLength > 0;
        long listed = tiled ? tileCount : stripCount;
        if (listed < 0 || width <= 0 || height <= 0)
            return; // LibTiff refuses a directory without them
        long perPlane = tiled
            ? ((width + tileWidth - 1) / tileWidth) * ((height + tileLength - 1) / tileLength)
            : (height + Math.Max(rowsPerStrip, 1) - 1) / Math.Max(rowsPerStrip, 1);
        long implied = planar == 2 ? perPlane * Math.Max(samples, 1) : perPlane;
        if (implied > listed)
            throw new ImageDecodeException(name, -1, $"{(tiled ? "tile" : "strip")} offsets for all {implied} {(tiled ? "tiles" : "strips")} of a {width}x{height} image",
                $"{listed} listed");
    }

    /// <summary>Bytes per value of the TIFF 6 / BigTIFF field types LibTiff reads; 0 for types it ignores.</summary>
    private static int TypeSize(int type) => type switch
    {
        1 or 2 or 6 or 7 => 1,
        3 or 8 => 2,
        4 or 9 or 11 or 13 => 4,
        5 or 10 or 12 or 16 or 17 or 18 => 8,
        _ => 0,
    };

    private static int U16(ReadOnlySpan<byte> data, long at, bool little)
    {
        var span = data.Slice((int)at, 2);
        return little ? BinaryPrimitives.ReadUInt16LittleEndian(span) : BinaryPrimitives.ReadUInt16BigEndian(span);
    }

    private static long U32(ReadOnlySpan<byte> data, long at, bool little, string name)
    {
        if (at + 4 > data.Length)
            throw new ImageDecodeException(name, at, "4 more bytes", "end of file");
        var span = data.Slice((int)at, 4);
        return little ? BinaryPrimitives.ReadUInt32LittleEndian(span) : BinaryPrimitives.ReadUInt32BigEndian(span);
    }
}
