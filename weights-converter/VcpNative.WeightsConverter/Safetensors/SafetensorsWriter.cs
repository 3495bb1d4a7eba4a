// Writes .safetensors files deterministically (sorted names, space-padded header) via a temp file and atomic rename.
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VcpNative.WeightsConverter.Safetensors;

public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, WeightDType DType, long[] Shape, ReadOnlyMemory<byte> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = new List<(string Name, WeightDType DType, long[] Shape, ReadOnlyMemory<byte> Data)>(tensors);
        WriteEntries(path, entries, metadata, static e => e.Payload.Span);
    }

    /// <summary>Writes every tensor of a set (strided views are materialised), keeping its metadata unless overridden.</summary>
    public static void Write(string path, WeightSet set, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = new List<(string Name, WeightDType DType, long[] Shape, WeightTensor Tensor)>(set.Count);
        foreach (var t in set.Tensors) entries.Add((t.Name, t.DType, t.Shape, t));
        WriteEntries(path, entries, metadata ?? set.Metadata, static e => e.Payload.RawBytes);
    }

    private delegate ReadOnlySpan<byte> BytesOf<T>(T entry);

    private static void WriteEntries<T>(string path, List<(string Name, WeightDType DType, long[] Shape, T Payload)> entries,
        IReadOnlyDictionary<string, string>? metadata, BytesOf<(string Name, WeightDType DType, long[] Shape, T Payload)> bytesOf)
    {
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (var i = 1; i < entries.Count; i++)
            if (entries[i].Name == entries[i - 1].Name) throw new ArgumentException($"duplicate tensor name '{entries[i].Name}'");

        var header = BuildHeader(entries, metadata, bytesOf);
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var e in entries) stream.Write(bytesOf(e));
                stream.Flush(flushToDisk: true);
            }
            // Readers never see a half-written file: the rename is atomic within one folder.
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    private static byte[] BuildHeader<T>(List<(string Name, WeightDType DType, long[] Shape, T Payload)> entries,
        IReadOnlyDictionary<string, string>? metadata, BytesOf<(string Name, WeightDType DType, long[] Shape, T Payload)> bytesOf)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps names byte-for-byte as given (the default encoder escapes '+', '<', non-ASCII...).
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                var keys = new List<string>(metadata.Keys);
                keys.Sort(string.CompareOrdinal);
                json.WriteStartObject("__metadata__");
                foreach (var k in keys) json.WriteString(k, metadata[k]);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in entries)
            {
                var byteLength = TensorLayout.ElementCount(e.Shape) * WeightDTypeInfo.ElementSize(e.DType);
                var actual = bytesOf(e).Length;
                if (actual != byteLength)
                    throw new ArgumentException($"tensor '{e.Name}': shape [{string.Join(", ", e.Shape)}] of {e.DType} needs {byteLength} bytes, got {actual}");
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", WeightDTypeInfo.ToSafetensorsName(e.DType));
                json.WriteStartArray("shape");
                foreach (var d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + byteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += byteLength;
            }
            json.WriteEndObject();
        }
        // Pad with spaces to a multiple of 8 so the data section is 8-byte aligned, as the reference writer does.
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
