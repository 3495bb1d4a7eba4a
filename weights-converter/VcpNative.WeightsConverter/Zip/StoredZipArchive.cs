// Minimal zip central-directory reader over a memory map, so stored (uncompressed) entries such as PyTorch's
// data/<key> storages become zero-copy views. System.IO.Compression.ZipArchive cannot expose entry data offsets.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VcpNative.WeightsConverter.Zip;

internal sealed record ZipEntryInfo(string Name, int Method, long CompressedSize, long Size, long LocalHeaderOffset, long CentralOffset);

internal sealed class StoredZipArchive
{
    private const uint EndOfCentralDirectorySignature = 0x06054b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint CentralHeaderSignature = 0x02014b50;
    private const uint LocalHeaderSignature = 0x04034b50;

    private readonly MappedFile _file;
    private readonly Dictionary<string, ZipEntryInfo> _entries = new(StringComparer.Ordinal);

    private StoredZipArchive(MappedFile file) => _file = file;

    public IReadOnlyCollection<ZipEntryInfo> Entries => _entries.Values;

    public string Path => _file.Path;

    /// <summary>The most bytes deflate can produce per compressed byte.</summary>
    internal const long MaxDeflateRatio = 1032;

    public static StoredZipArchive Open(MappedFile file)
    {
        var zip = new StoredZipArchive(file);
        zip.ReadCentralDirectory();
        return zip;
    }

    public bool TryGetEntry(string name, out ZipEntryInfo entry) => _entries.TryGetValue(name, out entry!);

    /// <summary>Absolute file offset of the entry's data, after its local header.</summary>
    public long DataOffset(ZipEntryInfo entry)
    {
        var lho = entry.LocalHeaderOffset;
        if (lho + 30 > _file.Length)
            throw new ModelFormatException(Path, lho, null, $"zip entry '{entry.Name}': local header past end of file ({_file.Length} bytes; file truncated?)");
        var header = _file.Span(lho, 30);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalHeaderSignature)
            throw new ModelFormatException(Path, lho, null, $"zip entry '{entry.Name}': expected local header signature 0x04034b50, found 0x{BinaryPrimitives.ReadUInt32LittleEndian(header):x8}");
        var dataOffset = lho + 30 + BinaryPrimitives.ReadUInt16LittleEndian(header[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        if (dataOffset + entry.CompressedSize > _file.Length)
            throw new ModelFormatException(Path, dataOffset, null, $"zip entry '{entry.Name}': expected {entry.CompressedSize} bytes, file ends {_file.Length - dataOffset} bytes later (file truncated?)");
        return dataOffset;
    }

    /// <summary>The entry's bytes: a view of the map when stored, inflated on first use when deflated.</summary>
    public TensorStorage OpenStorage(ZipEntryInfo entry)
    {
        var offset = DataOffset(entry);
        if (entry.Method == 0 && entry.Size != entry.CompressedSize)
            throw new ModelFormatException(Path, entry.CentralOffset, null, $"stored zip entry '{entry.Name}': size {entry.Size} differs from stored size {entry.CompressedSize}");
        // Deflate cannot expand more than 1032:1, and one entry is inflated into one array: a larger claim is a
        // zip bomb (or damage), refused before anything is allocated.
        if (entry.Method == 8 && (entry.Size > Array.MaxLength || entry.Size > (entry.CompressedSize * MaxDeflateRatio) + 1024))
            throw new ModelFormatException(Path, entry.CentralOffset, null,
                $"zip entry '{entry.Name}': declares {entry.Size} bytes inflated from {entry.CompressedSize}, beyond deflate's {MaxDeflateRatio}:1 or one array (zip bomb?)");
        return entry.Method switch
        {
            0 => new MappedRegionStorage(_file, offset, entry.Size),
            8 => new LazyStorage(entry.Size, () => Inflate(entry, offset)),
            _ => throw new ModelFormatException(Path, entry.LocalHeaderOffset, null, $"zip entry '{entry.Name}': compression method {entry.Method} is not supported (expected 0 stored or 8 deflate)"),
        };
    }

    public byte[] ReadAll(ZipEntryInfo entry) => OpenStorage(entry).Bytes.ToArray();

    private byte[] Inflate(ZipEntryInfo entry, long offset)
    {
        var result = new byte[entry.Size];
        using var source = new DeflateStream(_file.OpenStream(offset, entry.CompressedSize), CompressionMode.Decompress);
        try
        {
            source.ReadExactly(result);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
        {
            throw new ModelFormatException(Path, offset, null, $"zip entry '{entry.Name}': cannot inflate {entry.Size} bytes: {e.Message}", e);
        }
        return result;
    }

    private void ReadCentralDirectory()
    {
        var length = _file.Length;
        if (length < 22) throw new ModelFormatException(Path, 0, null, $"zip archive of {length} bytes is too short for an end-of-central-directory record (file truncated?)");
        // The EOCD record sits in the last 22 + 65535 (max comment) bytes; scan backwards for its signature.
        var searchStart = Math.Max(0, length - 22 - 65535);
        var tail = _file.Span(searchStart, (int)(length - searchStart));
        var eocd = -1L;
        for (var i = tail.Length - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail[i..]) == EndOfCentralDirectorySignature)
            {
                eocd = searchStart + i;
                break;
            }
        }
        if (eocd < 0) throw new ModelFormatException(Path, length, null, "no zip end-of-central-directory record found (file truncated?)");
        var record = _file.Span(eocd, 22);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(record[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(record[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(record[16..]);
        if ((count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) && eocd >= 20)
        {
            var locator = _file.Span(eocd - 20, 20);
            if (BinaryPrimitives.ReadUInt32LittleEndian(locator) == Zip64LocatorSignature)
            {
                var z64 = (long)BinaryPrimitives.ReadUInt64LittleEndian(locator[8..]);
                if (z64 < 0 || z64 + 56 > length) throw new ModelFormatException(Path, eocd - 20, null, $"zip64 end record offset {z64} outside file of {length} bytes");
                var end = _file.Span(z64, 56);
                if (BinaryPrimitives.ReadUInt32LittleEndian(end) != Zip64EndSignature)
                    throw new ModelFormatException(Path, z64, null, "expected zip64 end-of-central-directory signature 0x06064b50");
                count = (long)BinaryPrimitives.ReadUInt64LittleEndian(end[32..]);
                cdSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(end[40..]);
                cdOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(end[48..]);
            }
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > eocd)
            throw new ModelFormatException(Path, eocd, null, $"central directory [{cdOffset}, {cdOffset + cdSize}) does not end before the end record at {eocd} (file truncated?)");

        var position = cdOffset;
        for (long n = 0; n < count; n++)
        {
            if (position + 46 > cdOffset + cdSize)
                throw new ModelFormatException(Path, position, null, $"central directory holds fewer than the {count} entries it declares");
            var h = _file.Span(position, 46);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != CentralHeaderSignature)
                throw new ModelFormatException(Path, position, null, $"expected central directory signature 0x02014b50, found 0x{BinaryPrimitives.ReadUInt32LittleEndian(h):x8}");
            int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            if (position + 46 + nameLength + extraLength + commentLength > cdOffset + cdSize)
                throw new ModelFormatException(Path, position, null, "central directory entry runs past the directory end");
            var name = Encoding.UTF8.GetString(_file.Span(position + 46, nameLength));
            ReadZip64Extra(_file.Span(position + 46 + nameLength, extraLength), ref size, ref compressed, ref localOffset);
            if (size < 0 || compressed < 0)
                throw new ModelFormatException(Path, position, null, $"zip entry '{name}': zip64 sizes {size} / {compressed} do not fit in 63 bits");
            if (localOffset < 0 || localOffset >= length)
                throw new ModelFormatException(Path, position, null, $"zip entry '{name}': local header offset {localOffset} outside file of {length} bytes");
            _entries[name] = new ZipEntryInfo(name, method, compressed, size, localOffset, position);
            position += 46 + nameLength + extraLength + commentLength;
        }
    }

    private static void ReadZip64Extra(ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long localOffset)
    {
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int fieldLength = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (4 + fieldLength > extra.Length) return;
            var field = extra.Slice(4, fieldLength);
            if (id == 0x0001)
            {
                // Only the values whose 32-bit slot is saturated are present, in this fixed order.
                if (size == 0xFFFFFFFF && field.Length >= 8) { size = (long)BinaryPrimitives.ReadUInt64LittleEndian(field); field = field[8..]; }
                if (compressed == 0xFFFFFFFF && field.Length >= 8) { compressed = (long)BinaryPrimitives.ReadUInt64LittleEndian(field); field = field[8..]; }
                if (localOffset == 0xFFFFFFFF && field.Length >= 8) localOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(field);
                return;
            }
            extra = extra[(4 + fieldLength)..];
        }
    }
}
