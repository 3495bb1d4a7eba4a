// Reads the entropy-coded bits of a scan: removes 0xFF00 stuffing, stops at markers, and tracks zero padding so truncation is detected.
using System.Runtime.CompilerServices;

namespace VcpNative.IO.Images;

internal ref struct JpegBitReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _file;
    private int _position;
    private ulong _bits;      // MSB-aligned
    private int _bitCount;
    private int _paddingBits; // zero bits appended after a marker or the end of the data; always the last ones in _bits
    private bool _stopped;    // a marker or the end of the data was reached
    private bool _endOfData;  // the data ended without a marker: a truncated file

    public JpegBitReader(ReadOnlySpan<byte> data, int position, string file)
    {
        _data = data;
        _position = position;
        _file = file;
    }

    /// <summary>Offset of the next unread byte (used in error messages and to find the marker after the scan).</summary>
    public readonly int Position => _position;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureBits(int n)
    {
        if (_bitCount < n)
        {
            Fill();
        }
    }

    private void Fill()
    {
        while (_bitCount <= 56)
        {
            uint b = 0;
            if (!_stopped)
            {
                if (_position >= _data.Length)
                {
                    _stopped = true;
                    _endOfData = true;
                }
                else
                {
                    b = _data[_position];
                    if (b == 0xFF)
                    {
                        if (_position + 1 >= _data.Length)
                        {
                            _stopped = true;
                            _endOfData = true;
                            b = 0;
                        }
                        else if (_data[_position + 1] == 0)
                        {
                            _position += 2;
                        }
                        else
                        {
                            // A marker ends the segment; leave _position on it.
                            _stopped = true;
                            b = 0;
                        }
                    }
                    else
                    {
                        _position++;
                    }
                }
            }

            if (_stopped)
            {
                _paddingBits += 8;
            }

            _bits |= (ulong)b << (56 - _bitCount);
            _bitCount += 8;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadBit()
    {
        EnsureBits(1);
        int bit = (int)(_bits >> 63);
        _bits <<= 1;
        _bitCount--;
        return bit;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadBits(int n)
    {
        if (n == 0)
        {
            return 0;
        }

        EnsureBits(n);
        int value = (int)(_bits >> (64 - n));
        _bits <<= n;
        _bitCount -= n;
        return value;
    }

    /// <summary>Reads n bits as a JPEG "magnitude category" value (F.2.2.1 EXTEND): the high half positive, the low half negative.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReceiveExtend(int n)
    {
        if (n == 0)
        {
            return 0;
        }

        int value = ReadBits(n);
        return value < 1 << (n - 1) ? value - (1 << n) + 1 : value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DecodeSymbol(JpegHuffmanTable table)
    {
        EnsureBits(16);
        int entry = table.Fast[(int)(_bits >> (64 - JpegHuffmanTable.FastBits))];
        if (entry != 0)
        {
            int length = entry >> 8;
            _bits <<= length;
            _bitCount -= length;
            return entry & 0xFF;
        }

        return DecodeLongSymbol(table);
    }

    private int DecodeLongSymbol(JpegHuffmanTable table)
    {
        int length = JpegHuffmanTable.FastBits + 1;
        int code = (int)(_bits >> (64 - length));
        while (code > table.MaxCode[length])
        {
            length++;
            if (length > 16)
            {
                throw new JpegDecodeException(_file, _position, "expected a Huffman code of at most 16 bits, found an undefined code (corrupt JPEG data)");
            }

            code = (int)(_bits >> (64 - length));
        }

        _bits <<= length;
        _bitCount -= length;
        return table.Symbols[(table.ValueOffset[length] + code) & 0xFF];
    }

    /// <summary>Throws when decoding has consumed bits beyond the end of a truncated file (padding after a marker is tolerated, as libjpeg does).</summary>
    public readonly void CheckNotPastEnd()
    {
        if (_endOfData && _bitCount < _paddingBits)
        {
            throw new JpegDecodeException(_file, _data.Length, "expected more entropy-coded data, found end of file (truncated JPEG)");
        }
    }

    /// <summary>Drops buffered bits and moves past the restart marker RSTn that must come next.</summary>
    public void ReadRestartMarker(int expectedIndex)
    {
        CheckNotPastEnd();
        _bits = 0;
        _bitCount = 0;
        _paddingBits = 0;
        _stopped = false;
        _endOfData = false;
        int markerOffset = JpegMarkerScanner.FindNextMarker(_data, _position);
        if (markerOffset < 0)
        {
            throw new JpegDecodeException(_file, _data.Length, $"expected marker 0xFF{0xD0 + expectedIndex:X2} (RST{expectedIndex}), found end of file (truncated JPEG)");
        }

        int marker = _data[markerOffset + 1];
        if (marker != 0xD0 + expectedIndex)
        {
            throw new JpegDecodeException(_file, markerOffset, $"expected marker 0xFF{0xD0 + expectedIndex:X2} (RST{expectedIndex}), found 0xFF{marker:X2} (corrupt JPEG)");
        }

        _position = markerOffset + 2;
    }
}
