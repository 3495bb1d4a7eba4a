// JPEG decoder entry points: walks the marker segments, decodes Huffman scans (baseline, extended 8-bit, progressive) and renders pixels bit-exact with libjpeg-turbo's defaults.
namespace VcpNative.IO.Images;

/// <summary>Decodes JPEG files (our own decoder, no native library).</summary>
public static class JpegDecoder
{
    /// <summary>Default largest width*height Decode accepts before allocating (2^28, about 16k x 16k).</summary>
    public const long DefaultMaxPixels = 1L << 28;

    /// <summary>Reads width, height and component count from the frame header without decoding any scan.</summary>
    public static (int Width, int Height, int Components) ReadHeader(ReadOnlySpan<byte> data, string nameForErrors)
    {
        var state = new ParseState(nameForErrors, long.MaxValue);
        Parse(data, state, headerOnly: true);
        var frame = state.Frame!;
        return (frame.Width, frame.Height, frame.Components.Length);
    }

    /// <summary>Decodes a whole JPEG file into a GreyImage (1 component) or an RgbImage (3 components, or 4: CMYK/YCCK
    /// converted as Pillow's convert('RGB') does); refuses images with more than maxPixels pixels before allocating
    /// their storage. The stored orientation is kept: ImageDecoder applies EXIF orientation.</summary>
    public static PixelImage Decode(ReadOnlySpan<byte> data, string nameForErrors, long maxPixels = DefaultMaxPixels)
    {
        var state = new ParseState(nameForErrors, maxPixels);
        Parse(data, state, headerOnly: false);
        var frame = state.Frame!;
        foreach (var c in frame.Components)
        {
            if (c.Quant is null)
            {
                throw state.Error(data.Length, $"expected a scan containing component {c.Id}, found EOI without one (incomplete JPEG)");
            }
        }

        byte[] pixels = JpegPixelOutput.Render(frame, state.StoredAsRgb(), state.StoredAsYcck());
        return frame.Components.Length == 1
            ? new GreyImage(frame.Width, frame.Height, pixels)
            : new RgbImage(frame.Width, frame.Height, pixels);
    }

    private sealed class ParseState(string file, long maxPixels)
    {
        public readonly string File = file;
        public readonly long MaxPixels = maxPixels;
        public readonly int[]?[] QuantTables = new int[]?[4];
        public readonly JpegHuffmanTable?[] DcTables = new JpegHuffmanTable?[4];
        public readonly JpegHuffmanTable?[] AcTables = new JpegHuffmanTable?[4];
        public JpegFrame? Frame;
        public int RestartInterval;
        public bool SawJfif;
        public bool SawAdobe;
        public int AdobeTransform;

        public JpegDecodeException Error(long offset, string detail) => new(File, offset, detail);

        /// <summary>libjpeg's rule for 3-component files: JFIF means YCbCr, else Adobe's transform flag, else component ids 'R','G','B'.</summary>
        public bool StoredAsRgb()
        {
            var comps = Frame!.Components;
            if (comps.Length != 3 || SawJfif)
            {
                return false;
            }

            if (SawAdobe)
            {
                return AdobeTransform == 0;
            }

            return comps[0].Id == 'R' && comps[1].Id == 'G' && comps[2].Id == 'B';
        }

        /// <summary>libjpeg's rule for 4-component files: YCCK when an Adobe marker says transform 1 or 2, else CMYK.</summary>
        public bool StoredAsYcck() => Frame!.Components.Length == 4 && SawAdobe && AdobeTransform != 0;
    }

    private static void Parse(ReadOnlySpan<byte> data, ParseState state, bool headerOnly)
    {
        if (data.Length < 2 || data[0] != 0xFF || data[1] != JpegMarkerScanner.Soi)
        {
            string found = data.Length == 0 ? "an empty file" : data.Length == 1 ? $"0x{data[0]:X2} then end of file" : $"0x{data[0]:X2}{data[1]:X2}";
            throw state.Error(0, $"expected marker 0xFFD8 (SOI), found {found} (not a JPEG file)");
        }

        int pos = 2;
        while (true)
        {
            int markerOffset = pos;
            if (pos >= data.Length)
            {
                throw state.Error(pos, "expected a marker, found end of file (truncated JPEG)");
            }

            if (data[pos] != 0xFF)
            {
                throw state.Error(pos, $"expected a marker (0xFF), found 0x{data[pos]:X2} (truncated or corrupt JPEG)");
            }

            while (pos < data.Length && data[pos] == 0xFF)
            {
                pos++; // fill bytes may precede any marker
            }

            if (pos >= data.Length)
            {
                throw state.Error(pos, "expected a marker code, found end of file (truncated JPEG)");
            }

            int marker = data[pos++];
            if (marker == JpegMarkerScanner.Eoi)
            {
                if (state.Frame is null)
                {
                    throw state.Error(markerOffset, "expected a frame header (SOFn), found 0xFFD9 (EOI)");
                }

                return;
            }

            if (marker is (>= 0xD0 and <= 0xD7) or 0x01 or JpegMarkerScanner.Soi)
            {
                continue; // stand-alone markers without a length; libjpeg ignores stray ones too
            }

            if (pos + 2 > data.Length)
            {
                throw state.Error(pos, $"expected the 2-byte length of segment 0xFF{marker:X2} ({JpegMarkerScanner.Name(marker)}), found end of file (truncated JPEG)");
            }

            int length = (data[pos] << 8) | data[pos + 1];
            if (length < 2)
            {
                throw state.Error(pos, $"expected a segment length >= 2 for 0xFF{marker:X2} ({JpegMarkerScanner.Name(marker)}), found {length} (corrupt JPEG)");
            }

            if (pos + length > data.Length)
            {
                throw state.Error(pos, $"expected {length - 2} bytes of segment 0xFF{marker:X2} ({JpegMarkerScanner.Name(marker)}), found {data.Length - pos - 2} (truncated JPEG)");
            }

            int segmentStart = pos + 2;
            var segment = data.Slice(segmentStart, length - 2);
            pos += length;
            switch (marker)
            {
                case JpegMarkerScanner.Sof0 or JpegMarkerScanner.Sof1 or JpegMarkerScanner.Sof2:
                    ReadFrameHeader(segment, segmentStart, marker, state, headerOnly);
                    if (headerOnly)
                    {
                        return;
                    }

                    break;
                case 0xC3 or (>= 0xC5 and <= 0xC7) or (>= 0xC9 and <= 0xCB) or (>= 0xCD and <= 0xCF):
                    throw state.Error(markerOffset, $"expected a Huffman-coded 8-bit DCT frame (SOF0, SOF1 or SOF2), found marker 0xFF{marker:X2} ({JpegMarkerScanner.Name(marker)}): unsupported JPEG coding process");
                case JpegMarkerScanner.Dht:
                    ReadHuffmanTables(segment, segmentStart, state);
                    break;
                case JpegMarkerScanner.Dqt:
                    ReadQuantTables(segment, segmentStart, state);
                    break;
                case JpegMarkerScanner.Dri:
                    if (segment.Length < 2)
                    {
                        throw state.Error(segmentStart, $"expected 2 bytes in DRI, found {segment.Length} (corrupt JPEG)");
                    }

                    state.RestartInterval = (segment[0] << 8) | segment[1];
                    break;
                case JpegMarkerScanner.Dnl:
                    throw state.Error(markerOffset, "expected the image height in the frame header, found marker 0xFFDC (DNL): height defined by DNL is unsupported");
                case JpegMarkerScanner.App0:
                    if (segment.Length >= 5 && segment[0] == 'J' && segment[1] == 'F' && segment[2] == 'I' && segment[3] == 'F' && segment[4] == 0)
                    {
                        state.SawJfif = true;
                    }

                    break;
                case JpegMarkerScanner.App14:
                    if (segment.Length >= 12 && segment[0] == 'A' && segment[1] == 'd' && segment[2] == 'o' && segment[3] == 'b' && segment[4] == 'e')
                    {
                        state.SawAdobe = true;
                        state.AdobeTransform = segment[11];
                    }

                    break;
                case JpegMarkerScanner.Sos:
                    if (state.Frame is null)
                    {
                        throw state.Error(markerOffset, "expected a frame header (SOFn) before the first scan, found marker 0xFFDA (SOS)");
                    }

                    pos = DecodeScan(data, segment, segmentStart, pos, state);
                    break;
                default:
                    break; // APPn, COM and unknown segments carry nothing the pixels depend on
            }
        }
    }

    private static void ReadFrameHeader(ReadOnlySpan<byte> s, int offset, int marker, ParseState state, bool headerOnly)
    {
        if (state.Frame is not null)
        {
            throw state.Error(offset - 4, $"expected a single frame, found a second frame header 0xFF{marker:X2} (multi-frame JPEG unsupported)");
        }

        if (s.Length < 6)
        {
            throw state.Error(offset, $"expected at least 6 bytes of frame header, found {s.Length} (corrupt JPEG)");
        }

        int precision = s[0];
        int height = (s[1] << 8) | s[2];
        int width = (s[3] << 8) | s[4];
        int count = s[5];
        if (precision != 8)
        {
            throw state.Error(offset, $"expected 8-bit sample precision, found {precision}-bit in 0xFF{marker:X2} ({JpegMarkerScanner.Name(marker)}): unsupported");
        }

        if (height == 0)
        {
            throw state.Error(offset + 1, "expected a non-zero image height, found 0 (height defined by a DNL marker is unsupported)");
        }

        if (width == 0)
        {
            throw state.Error(offset + 3, "expected a non-zero image width, found 0 (corrupt JPEG)");
        }

        if (count is not (1 or 3 or 4))
        {
            throw state.Error(offset + 5, $"expected 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK/YCCK) components, found {count}: unsupported");
        }

        if (s.Length < 6 + (3 * count))
        {
            throw state.Error(offset, $"expected {6 + (3 * count)} bytes of frame header, found {s.Length} (corrupt JPEG)");
        }

        var frame = new JpegFrame
        {
            Progressive = marker == JpegMarkerScanner.Sof2,
            Width = width,
            Height = height,
            Components = new JpegComponent[count],
        };
        for (int i = 0; i < count; i++)
        {
            int p = 6 + (3 * i);
            var c = new JpegComponent { Id = s[p], H = s[p + 1] >> 4, V = s[p + 1] & 15, QuantTableIndex = s[p + 2] };
            if (c.H is < 1 or > 4 || c.V is < 1 or > 4)
            {
                throw state.Error(offset + p + 1, $"expected sampling factors 1..4 for component {c.Id}, found {c.H}x{c.V} (corrupt JPEG)");
            }

            if (c.QuantTableIndex > 3)
            {
                throw state.Error(offset + p + 2, $"expected quantisation table 0..3 for component {c.Id}, found {c.QuantTableIndex} (corrupt JPEG)");
            }

            for (int j = 0; j < i; j++)
            {
                if (frame.Components[j].Id == c.Id)
                {
                    throw state.Error(offset + p, $"expected distinct component ids, found id {c.Id} twice (corrupt JPEG)");
                }
            }

            frame.Components[i] = c;
        }

        frame.ComputeGeometry();
        foreach (var c in frame.Components)
        {
            if (JpegPixelOutput.ChooseUpsampling(frame, c) is null)
            {
                throw state.Error(offset, $"expected sampling factors that divide the largest ({frame.MaxH}x{frame.MaxV}), found {c.H}x{c.V} for component {c.Id}: unsupported fractional sampling");
            }
        }

        state.Frame = frame;
        if (headerOnly)
        {
            return;
        }

        long pixels = (long)width * height;
        if (pixels > state.MaxPixels)
        {
            throw state.Error(offset + 1, $"expected at most {state.MaxPixels} pixels, found {width}x{height} = {pixels}: image too large");
        }

        foreach (var c in frame.Components)
        {
            c.Coefficients = new short[(long)c.PaddedBlocksWide * c.PaddedBlocksHigh * 64];
        }
    }

    private static void ReadQuantTables(ReadOnlySpan<byte> s, int offset, ParseState state)
    {
        var zigzag = JpegScanDecoder.ZigzagOrder;
        int p = 0;
        while (p < s.Length)
        {
            int precision = s[p] >> 4;
            int index = s[p] & 15;
            int size = precision == 0 ? 64 : 128;
            if (precision > 1 || index > 3)
            {
                throw state.Error(offset + p, $"expected DQT precision 0/1 and table 0..3, found 0x{s[p]:X2} (corrupt JPEG)");
            }

            if (p + 1 + size > s.Length)
            {
                throw state.Error(offset + p, $"expected {size} bytes of DQT table {index}, found {s.Length - p - 1} (corrupt JPEG)");
            }

            var table = new int[64];
            for (int k = 0; k < 64; k++)
            {
                table[zigzag[k]] = precision == 0 ? s[p + 1 + k] : (s[p + 1 + (2 * k)] << 8) | s[p + 2 + (2 * k)];
            }

            state.QuantTables[index] = table;
            p += 1 + size;
        }
    }

    private static void ReadHuffmanTables(ReadOnlySpan<byte> s, int offset, ParseState state)
    {
        int p = 0;
        while (p < s.Length)
        {
            int tableClass = s[p] >> 4;
            int index = s[p] & 15;
            if (tableClass > 1 || index > 3)
            {
                throw state.Error(offset + p, $"expected DHT class 0/1 and table 0..3, found 0x{s[p]:X2} (corrupt JPEG)");
            }

            if (p + 17 > s.Length)
            {
                throw state.Error(offset + p, $"expected 16 code-length counts in DHT, found {s.Length - p - 1} bytes (corrupt JPEG)");
            }

            var counts = s.Slice(p + 1, 16);
            int total = 0;
            foreach (byte n in counts)
            {
                total += n;
            }

            if (total > 256 || p + 17 + total > s.Length)
            {
                throw state.Error(offset + p, $"expected {total} Huffman symbols (at most 256) in DHT, found {s.Length - p - 17} bytes (corrupt JPEG)");
            }

            var symbols = s.Slice(p + 17, total);
            if (tableClass == 0)
            {
                foreach (byte sym in symbols)
                {
                    if (sym > 15)
                    {
                        throw state.Error(offset + p, $"expected DC Huffman symbols 0..15, found {sym} (corrupt JPEG)");
                    }
                }
            }

            var tables = tableClass == 0 ? state.DcTables : state.AcTables;
            var table = tables[index] ?? new JpegHuffmanTable();
            string? problem = JpegHuffmanTable.Build(table, counts, symbols);
            if (problem is not null)
            {
                throw state.Error(offset + p, $"expected a valid Huffman table, found: {problem} (corrupt JPEG)");
            }

            tables[index] = table;
            p += 17 + total;
        }
    }

    /// <summary>Parses an SOS header, decodes its entropy-coded data, and returns the offset of the marker that follows.</summary>
    private static int DecodeScan(ReadOnlySpan<byte> data, ReadOnlySpan<byte> s, int offset, int dataStart, ParseState state)
    {
        var frame = state.Frame!;
        int count = s.Length > 0 ? s[0] : 0;
        if (count is < 1 or > 4 || s.Length < 4 + (2 * count))
        {
            throw state.Error(offset, $"expected 1..4 scan components with their table selectors, found count {count} in {s.Length} bytes (corrupt JPEG)");
        }

        var components = new JpegComponent[count];
        int blocksPerMcu = 0;
        for (int i = 0; i < count; i++)
        {
            int id = s[1 + (2 * i)];
            int selectors = s[2 + (2 * i)];
            JpegComponent? c = null;
            foreach (var fc in frame.Components)
            {
                if (fc.Id == id)
                {
                    c = fc;
                }
            }

            if (c is null)
            {
                throw state.Error(offset + 1 + (2 * i), $"expected a scan component id declared in the frame header, found {id} (corrupt JPEG)");
            }

            if ((selectors >> 4) > 3 || (selectors & 15) > 3)
            {
                throw state.Error(offset + 2 + (2 * i), $"expected Huffman table selectors 0..3, found 0x{selectors:X2} (corrupt JPEG)");
            }

            c.DcTable = state.DcTables[selectors >> 4];
            c.AcTable = state.AcTables[selectors & 15];
            components[i] = c;
            blocksPerMcu += c.H * c.V;
        }

        int p = 1 + (2 * count);
        int ss = s[p], se = s[p + 1], ah = s[p + 2] >> 4, al = s[p + 2] & 15;
        if (count > 1 && blocksPerMcu > 10)
        {
            throw state.Error(offset, $"expected at most 10 blocks per MCU, found {blocksPerMcu} (corrupt JPEG)");
        }

        bool needDc, needAc;
        if (frame.Progressive)
        {
            bool valid = ss <= se && se <= 63 && al <= 13 && (ss == 0 ? se == 0 : count == 1) && (ah == 0 || ah == al + 1);
            if (!valid)
            {
                throw state.Error(offset + p, $"expected a valid progressive scan (Ss<=Se<=63, DC alone, AC single-component, Ah=0 or Al+1), found Ss={ss} Se={se} Ah={ah} Al={al} with {count} components (corrupt JPEG)");
            }

            needDc = ss == 0 && ah == 0;
            needAc = ss > 0;
        }
        else
        {
            needDc = true;
            needAc = true;
        }

        foreach (var c in components)
        {
            if ((needDc && c.DcTable is null) || (needAc && c.AcTable is null))
            {
                throw state.Error(offset, $"expected the Huffman tables scan component {c.Id} selects to be defined by DHT, found them missing (corrupt JPEG)");
            }

            if (c.Quant is null)
            {
                // libjpeg latches a component's quantisation table when the component first appears in a scan.
                c.Quant = state.QuantTables[c.QuantTableIndex]
                    ?? throw state.Error(offset, $"expected quantisation table {c.QuantTableIndex} for component {c.Id} to be defined by DQT, found it missing (corrupt JPEG)");
            }
        }

        int stop = JpegScanDecoder.Decode(data, dataStart, state.File, frame, components, ss, se, ah, al, state.RestartInterval);
        int next = JpegMarkerScanner.FindNextMarker(data, stop);
        if (next < 0)
        {
            throw state.Error(data.Length, "expected a marker after the scan data, found end of file (truncated JPEG)");
        }

        return next;
    }
}
