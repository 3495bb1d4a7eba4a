// Huffman entropy decoding of one scan into the components' coefficient arrays: sequential, and the four progressive scan kinds (JPEG Annex G).
namespace VcpNative.IO.Images;

internal static class JpegScanDecoder
{
    private enum ScanKind
    {
        Sequential,
        DcFirst,
        DcRefine,
        AcFirst,
        AcRefine,
    }

    /// <summary>Zig-zag index -> natural index; 16 extra entries absorb run lengths that overshoot 63 in corrupt data, as in libjpeg.</summary>
    private static readonly byte[] ZigzagToNatural =
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
        63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
    ];

    public static ReadOnlySpan<byte> ZigzagOrder => ZigzagToNatural;

    /// <summary>Decodes the entropy-coded data starting at position; returns the offset where reading stopped.</summary>
    public static int Decode(
        ReadOnlySpan<byte> data, int position, string file, JpegFrame frame, JpegComponent[] components,
        int ss, int se, int ah, int al, int restartInterval)
    {
        var reader = new JpegBitReader(data, position, file);
        ScanKind kind = !frame.Progressive ? ScanKind.Sequential
            : ss == 0 ? (ah == 0 ? ScanKind.DcFirst : ScanKind.DcRefine)
            : (ah == 0 ? ScanKind.AcFirst : ScanKind.AcRefine);
        if (kind == ScanKind.Sequential)
        {
            ss = 0;
            se = 63;
        }

        foreach (var c in components)
        {
            c.DcPredictor = 0;
        }

        int eobRun = 0;
        var restarts = new RestartSchedule(restartInterval);
        if (components.Length == 1)
        {
            // Non-interleaved: one block per MCU, only the blocks that hold real samples.
            var c = components[0];
            for (int by = 0; by < c.BlocksHigh; by++)
            {
                for (int bx = 0; bx < c.BlocksWide; bx++)
                {
                    restarts.BeforeMcu(ref reader, components, ref eobRun);

                    var block = c.Coefficients.AsSpan(((by * c.PaddedBlocksWide) + bx) * 64, 64);
                    DecodeBlock(ref reader, kind, c, block, ss, se, al, ref eobRun);
                    reader.CheckNotPastEnd();
                }
            }
        }
        else
        {
            for (int my = 0; my < frame.McusHigh; my++)
            {
                for (int mx = 0; mx < frame.McusWide; mx++)
                {
                    restarts.BeforeMcu(ref reader, components, ref eobRun);

                    foreach (var c in components)
                    {
                        for (int v = 0; v < c.V; v++)
                        {
                            int rowStart = ((my * c.V) + v) * c.PaddedBlocksWide;
                            for (int h = 0; h < c.H; h++)
                            {
                                var block = c.Coefficients.AsSpan((rowStart + (mx * c.H) + h) * 64, 64);
                                DecodeBlock(ref reader, kind, c, block, ss, se, al, ref eobRun);
                            }
                        }
                    }

                    reader.CheckNotPastEnd();
                }
            }
        }

        return reader.Position;
    }

    /// <summary>Counts MCUs down to the next RSTn marker (every `interval` MCUs; 0 = no markers) and resynchronises there.</summary>
    private struct RestartSchedule(int interval)
    {
        private readonly int _interval = interval;
        private int _mcusUntilRestart = interval;
        private int _nextIndex;

        /// <summary>Called before each MCU: when the interval has elapsed, reads RSTn and resets the DC predictors and the EOB run.</summary>
        public void BeforeMcu(ref JpegBitReader reader, JpegComponent[] components, ref int eobRun)
        {
            if (_interval <= 0)
            {
                return;
            }

            if (_mcusUntilRestart == 0)
            {
                reader.ReadRestartMarker(_nextIndex);
                _nextIndex = (_nextIndex + 1) & 7;
                eobRun = 0;
                foreach (var c in components)
                {
                    c.DcPredictor = 0;
                }

                _mcusUntilRestart = _interval;
            }

            _mcusUntilRestart--;
        }
    }

    private static void DecodeBlock(
        ref JpegBitReader reader, ScanKind kind, JpegComponent c, Span<short> block, int ss, int se, int al, ref int eobRun)
    {
        switch (kind)
        {
            case ScanKind.Sequential:
                DecodeSequential(ref reader, c, block);
                break;
            case ScanKind.DcFirst:
            {
                int t = reader.DecodeSymbol(c.DcTable!);
                c.DcPredictor += reader.ReceiveExtend(t);
                block[0] = (short)(c.DcPredictor << al);
                break;
            }

            case ScanKind.DcRefine:
                if (reader.ReadBit() != 0)
                {
                    block[0] |= (short)(1 << al);
                }

                break;
            case ScanKind.AcFirst:
                DecodeAcFirst(ref reader, c.AcTable!, block, ss, se, al, ref eobRun);
                break;
            default:
                DecodeAcRefine(ref reader, c.AcTable!, block, ss, se, al, ref eobRun);
                break;
        }
    }

    private static void DecodeSequential(ref JpegBitReader reader, JpegComponent c, Span<short> block)
    {
        int t = reader.DecodeSymbol(c.DcTable!);
        c.DcPredictor += reader.ReceiveExtend(t);
        block[0] = (short)c.DcPredictor;
        var ac = c.AcTable!;
        var natural = ZigzagToNatural;
        for (int k = 1; k < 64; k++)
        {
            int rs = reader.DecodeSymbol(ac);
            int run = rs >> 4;
            int size = rs & 15;
            if (size != 0)
            {
                k += run;
                block[natural[k]] = (short)reader.ReceiveExtend(size);
            }
            else
            {
                if (run != 15)
                {
                    break; // end of block
                }

                k += 15; // ZRL: sixteen zeros
            }
        }
    }

    private static void DecodeAcFirst(
        ref JpegBitReader reader, JpegHuffmanTable ac, Span<short> block, int ss, int se, int al, ref int eobRun)
    {
        if (eobRun > 0)
        {
            eobRun--;
            return;
        }

        var natural = ZigzagToNatural;
        for (int k = ss; k <= se; k++)
        {
            int rs = reader.DecodeSymbol(ac);
            int run = rs >> 4;
            int size = rs & 15;
            if (size != 0)
            {
                k += run;
                block[natural[k]] = (short)(reader.ReceiveExtend(size) * (1 << al));
            }
            else if (run == 15)
            {
                k += 15;
            }
            else
            {
                // EOBn: this block and the next 2^run - 1 + (run extra bits) blocks have no more coefficients in this band.
                eobRun = (1 << run) - 1 + reader.ReadBits(run);
                break;
            }
        }
    }

    private static void DecodeAcRefine(
        ref JpegBitReader reader, JpegHuffmanTable ac, Span<short> block, int ss, int se, int al, ref int eobRun)
    {
        int plusOne = 1 << al;
        int minusOne = -1 << al;
        var natural = ZigzagToNatural;
        int k = ss;
        if (eobRun == 0)
        {
            for (; k <= se; k++)
            {
                int rs = reader.DecodeSymbol(ac);
                int run = rs >> 4;
                int size = rs & 15;
                int newValue = 0;
                if (size != 0)
                {
                    // Only size 1 is legal here; like libjpeg, treat anything else as 1.
                    newValue = reader.ReadBit() != 0 ? plusOne : minusOne;
                }
                else if (run != 15)
                {
                    eobRun = (1 << run) + reader.ReadBits(run);
                    break;
                }

                // Skip `run` zero coefficients, refining the non-zero ones passed on the way.
                while (k <= se)
                {
                    int z = natural[k];
                    if (block[z] != 0)
                    {
                        RefineNonZero(ref reader, ref block[z], plusOne, minusOne);
                    }
                    else
                    {
                        if (run == 0)
                        {
                            break;
                        }

                        run--;
                    }

                    k++;
                }

                if (newValue != 0 && k <= se)
                {
                    block[natural[k]] = (short)newValue;
                }
            }
        }

        if (eobRun > 0)
        {
            // Inside an end-of-band run: only correction bits for coefficients already non-zero.
            for (; k <= se; k++)
            {
                int z = natural[k];
                if (block[z] != 0)
                {
                    RefineNonZero(ref reader, ref block[z], plusOne, minusOne);
                }
            }

            eobRun--;
        }
    }

    private static void RefineNonZero(ref JpegBitReader reader, ref short coefficient, int plusOne, int minusOne)
    {
        if (reader.ReadBit() != 0 && (coefficient & plusOne) == 0)
        {
            coefficient = (short)(coefficient + (coefficient >= 0 ? plusOne : minusOne));
        }
    }
}
