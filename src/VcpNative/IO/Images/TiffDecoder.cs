// TIFF through LibTiff.NET (managed, so it links into the NativeAOT binary): the library reads directories and
// decompresses strips/tiles (none, LZW, Deflate, PackBits, predictors); the samples are turned into pixels here
// the way Pillow 9.4 unpacks them, so Image.open(p).convert('RGB') is matched exactly.
using System.Buffers.Binary;
using BitMiracle.LibTiff.Classic;

namespace VcpNative.IO.Images;

internal static class TiffDecoder
{
    /// <summary>"II*\0" (little-endian) or "MM\0*" (big-endian); BigTIFF (43) is not read.</summary>
    public static bool HasSignature(ReadOnlySpan<byte> data) =>
        data.Length >= 4 && ((data[0] == 'I' && data[1] == 'I' && data[2] == 42 && data[3] == 0)
                          || (data[0] == 'M' && data[1] == 'M' && data[2] == 0 && data[3] == 42));

    static TiffDecoder()
    {
        // LibTiff.NET reports problems through one library-wide handler that writes to stderr by default. This
        // stateless handler only hands each message to the stream being read (its clientData), so concurrent
        // decodes never see each other's errors; it is the one process-wide setting this decoder makes.
        Tiff.SetErrorHandler(new ForwardingErrorHandler());
    }

    /// <summary>The first page's upright size and colour, read from its directory; no strip is decompressed.</summary>
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string name) =>
        WithTiff(data, name, (tiff, source) => Describe(tiff, source, name).Header);

    /// <summary>Decodes the first page as stored; <paramref name="limits"/> are checked against its directory before any pixel buffer.</summary>
    public static PixelImage Decode(ReadOnlySpan<byte> data, string name, ImageSizeLimits limits) =>
        WithTiff(data, name, (tiff, source) =>
        {
            var page = Describe(tiff, source, name);
            limits.Check(page.Header, name);
            byte[] raw = ReadSamples(tiff, source, page, name);
            return ToPixels(raw, page);
        });

    /// <summary>What the first directory says about its pixels.</summary>
    private sealed record Page(ImageHeader Header, int Width, int Height, int Bits, int SamplesPerPixel,
        Photometric Photometric, bool AssociatedAlpha, ushort[][]? ColourMap);

    private static T WithTiff<T>(ReadOnlySpan<byte> data, string name, Func<Tiff, TiffSource, T> read)
    {
        TiffDirectoryCheck.Check(data, name);
        using var source = new TiffSource(data.ToArray());
        try
        {
            using var tiff = Tiff.ClientOpen(name, "r", source, new TiffStream())
                ?? throw Fail(name, source, "a readable TIFF directory", "none");
            return read(tiff, source);
        }
        catch (ImageDecodeException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // LibTiff.NET throws its own and runtime exceptions on some damaged files; callers get one type.
            throw new ImageDecodeException(name, -1, "a well-formed TIFF", OneLine($"{e.GetType().Name}: {e.Message}"));
        }
    }

    private static Page Describe(Tiff tiff, TiffSource source, string name)
    {
        int width = Required(tiff, TiffTag.IMAGEWIDTH, source, name);
        int height = Required(tiff, TiffTag.IMAGELENGTH, source, name);
        int bits = tiff.GetFieldDefaulted(TiffTag.BITSPERSAMPLE)[0].ToInt();
        int spp = tiff.GetFieldDefaulted(TiffTag.SAMPLESPERPIXEL)[0].ToInt();
        var photometric = (Photometric)Required(tiff, TiffTag.PHOTOMETRIC, source, name);
        int orientation = tiff.GetFieldDefaulted(TiffTag.ORIENTATION)?[0].ToInt() ?? ImageOrientation.Upright;
        var planar = (PlanarConfig)tiff.GetFieldDefaulted(TiffTag.PLANARCONFIG)[0].ToInt();
        var format = (SampleFormat)tiff.GetFieldDefaulted(TiffTag.SAMPLEFORMAT)[0].ToInt();

        bool supported = format == SampleFormat.UINT && (spp == 1 || planar == PlanarConfig.CONTIG) && photometric switch
        {
            Photometric.MINISBLACK or Photometric.MINISWHITE => spp is 1 or 2 && bits is 1 or 8 or 16,
            Photometric.RGB => spp >= 3 && bits is 8 or 16,
            Photometric.PALETTE => spp == 1 && bits is 1 or 2 or 4 or 8,
            Photometric.SEPARATED => spp >= 4 && bits == 8,
            _ => false,
        };
        if (!supported)
            throw new ImageDecodeException(name, -1,
                "a TIFF with unsigned grey (1/8/16-bit), RGB/RGBA (8/16-bit), palette (1..8-bit) or CMYK (8-bit) samples, chunky",
                $"photometric {photometric}, {spp} x {bits}-bit {format} samples, planar {planar}");

        bool associated = false;
        var extra = tiff.GetField(TiffTag.EXTRASAMPLES);
        if (extra is not null && extra.Length > 1 && extra[0].ToInt() > 0)
            associated = extra[1].ToShortArray() is [var first, ..] && first == (short)ExtraSample.ASSOCALPHA;

        ushort[][]? map = null;
        if (photometric == Photometric.PALETTE)
        {
            var cm = tiff.GetField(TiffTag.COLORMAP) ?? throw Fail(name, source, "a ColorMap tag in a palette TIFF", "none");
            map = [cm[0].ToUShortArray(), cm[1].ToUShortArray(), cm[2].ToUShortArray()];
            if (map.Any(m => m.Length < 1 << bits))
                throw new ImageDecodeException(name, -1, $"{1 << bits} ColorMap entries", map.Min(m => m.Length).ToString());
        }

        var (uw, uh) = ImageOrientation.UprightSize(width, height, orientation);
        bool colour = photometric is Photometric.RGB or Photometric.PALETTE or Photometric.SEPARATED;
        var header = new ImageHeader(ImageFormat.Tiff, uw, uh, colour) { Orientation = orientation is >= 1 and <= 8 ? orientation : 1 };
        return new Page(header, width, height, bits, spp, photometric, associated, map);
    }

    private static long RoundUp16(int value) => ((long)value + 15) / 16 * 16;

    private static int Required(Tiff tiff, TiffTag tag, TiffSource source, string name) =>
        tiff.GetField(tag)?[0].ToInt() ?? throw Fail(name, source, $"the {tag} tag in the first directory", "none");

    /// <summary>The page's samples, decompressed, as rows of ScanlineSize bytes (chunky, native byte order).</summary>
    private static byte[] ReadSamples(Tiff tiff, TiffSource source, Page page, string name)
    {
        int stride = tiff.ScanlineSize();
        var raw = new byte[checked((long)stride * page.Height)];
        int bitsPerPixel = page.Bits * page.SamplesPerPixel;
        if (tiff.IsTiled())
        {
            int tileWidth = Required(tiff, TiffTag.TILEWIDTH, source, name);
            int tileHeight = Required(tiff, TiffTag.TILELENGTH, source, name);
            // A tile larger than the image (rounded up to TIFF's multiple of 16) only makes LibTiff allocate: a 37x23
            // image declaring 65307x784 tiles asked for 25 MB.
            if (tileWidth <= 0 || tileHeight <= 0 || tileWidth > RoundUp16(page.Width) || tileHeight > RoundUp16(page.Height))
                throw Fail(name, source, $"tiles no larger than the {page.Width}x{page.Height} image (rounded up to 16)", $"{tileWidth}x{tileHeight}");
            int tileStride = tiff.TileRowSize();
            var tile = new byte[tiff.TileSize()];
            for (int ty = 0; ty < page.Height; ty += tileHeight)
            {
                for (int tx = 0; tx < page.Width; tx += tileWidth)
                {
                    if (tiff.ReadTile(tile, 0, tx, ty, 0, 0) < 0)
                        throw Fail(name, source, $"a decodable tile at ({tx}, {ty})", "a damaged tile");
                    // Tile widths are multiples of 16 pixels, so every tile starts on a byte.
                    int offset = (int)((long)tx * bitsPerPixel / 8);
                    int bytes = Math.Min(tileStride, stride - offset);
                    int rows = Math.Min(tileHeight, page.Height - ty);
                    for (int r = 0; r < rows; r++)
                        Buffer.BlockCopy(tile, r * tileStride, raw, ((ty + r) * stride) + offset, bytes);
                }
            }
        }
        else
        {
            int rowsPerStrip = Math.Min(tiff.GetFieldDefaulted(TiffTag.ROWSPERSTRIP)[0].ToInt(), page.Height);
            if (rowsPerStrip <= 0)
                rowsPerStrip = page.Height;
            for (int strip = 0, row = 0; row < page.Height; strip++, row += rowsPerStrip)
            {
                int rows = Math.Min(rowsPerStrip, page.Height - row);
                if (tiff.ReadEncodedStrip(strip, raw, row * stride, rows * stride) < 0)
                    throw Fail(name, source, $"a decodable strip {strip}", "a damaged or missing strip");
            }
        }
        return raw;
    }

    /// <summary>Pillow's unpackers: 16-bit colour keeps the high byte, 16-bit grey (mode I;16) clips at 255,
    /// MinIsWhite inverts, palette entries are ColorMap/256, associated alpha is divided out, other alpha dropped.</summary>
    private static PixelImage ToPixels(byte[] raw, Page page)
    {
        int w = page.Width, h = page.Height, spp = page.SamplesPerPixel, bits = page.Bits;
        int stride = raw.Length / h;
        bool grey = page.Photometric is Photometric.MINISBLACK or Photometric.MINISWHITE;
        var pixels = new byte[(long)w * h * (grey ? 1 : 3)];
        Span<int> s = stackalloc int[4];
        for (int y = 0; y < h; y++)
        {
            var row = raw.AsSpan(y * stride, stride);
            for (int x = 0; x < w; x++)
            {
                int i = (y * w) + x;
                switch (page.Photometric)
                {
                    case Photometric.MINISBLACK or Photometric.MINISWHITE:
                        int v = bits switch
                        {
                            1 => ((row[x >> 3] >> (7 - (x & 7))) & 1) * 255,
                            8 => row[x * spp],
                            _ => Math.Min((int)BinaryPrimitives.ReadUInt16LittleEndian(row[(2 * x * spp)..]), 255),
                        };
                        pixels[i] = (byte)(page.Photometric == Photometric.MINISWHITE ? 255 - v : v);
                        break;
                    case Photometric.PALETTE:
                        int index = (row[(x * bits) >> 3] >> (8 - bits - ((x * bits) & 7))) & ((1 << bits) - 1);
                        for (int c = 0; c < 3; c++)
                            pixels[(3 * i) + c] = (byte)(page.ColourMap![c][index] >> 8);
                        break;
                    case Photometric.SEPARATED:
                        var cmyk = row.Slice(x * spp, 4);
                        CmykToRgb.Convert(cmyk[0], cmyk[1], cmyk[2], cmyk[3], pixels.AsSpan(3 * i, 3));
                        break;
                    default:
                        for (int c = 0; c < Math.Min(spp, 4); c++)
                            s[c] = bits == 8 ? row[(x * spp) + c] : row[(2 * ((x * spp) + c)) + 1]; // little-endian high byte
                        for (int c = 0; c < 3; c++)
                            pixels[(3 * i) + c] = (byte)(page.AssociatedAlpha && spp >= 4 ? Unpremultiply(s[c], s[3]) : s[c]);
                        break;
                }
            }
        }
        return grey ? new GreyImage(w, h, pixels) : new RgbImage(w, h, pixels);
    }

    /// <summary>Pillow's unpackRGBa: a colour stored multiplied by alpha, divided back (0 where alpha is 0).</summary>
    private static int Unpremultiply(int value, int alpha) =>
        alpha == 0 ? 0 : alpha == 255 ? value : Math.Min(value * 255 / alpha, 255);

    private static ImageDecodeException Fail(string name, TiffSource source, string expected, string found) =>
        new(name, -1, expected, source.FirstError is { } error ? $"{found} (LibTiff.NET: {error})" : found);

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>The file's bytes as LibTiff.NET's stream, also collecting the first error the library reports on it.</summary>
    private sealed class TiffSource(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public string? FirstError;
    }

    private sealed class ForwardingErrorHandler : TiffErrorHandler
    {
        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) { }

        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
            if (clientData is TiffSource source && source.FirstError is null)
                source.FirstError = OneLine($"{method}: {(args.Length == 0 ? format : SafeFormat(format, args))}");
        }

        public override void WarningHandler(Tiff tif, string method, string format, params object[] args) { }

        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) { }

        private static string SafeFormat(string format, object[] args)
        {
            try
            {
                return string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args);
            }
            catch (FormatException)
            {
                return format;
            }
        }
    }
}
