// Reads a .safetensors file (u64 LE header length, JSON header, raw data) through a memory map, validating every entry.
using System.Buffers.Binary;
using System.Text.Json;

namespace VcpNative.WeightsConverter.Safetensors;

public static class SafetensorsReader
{
    /// <summary>The reference implementation refuses headers over 100 MB; so do we, before parsing.</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    public static WeightSet Read(string path) => MappedFile.OpenOwnedBy(path, Read);

    internal static WeightSet Read(MappedFile file)
    {
        var path = file.Path;
        if (file.Length < 8)
            throw new ModelFormatException(path, 0, null, $"expected an 8-byte header length, found {file.Length} bytes (file truncated?)");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8));
        if (headerLength > MaxHeaderBytes || (long)headerLength > file.Length - 8)
            throw new ModelFormatException(path, 0, null, $"header length {headerLength} does not fit in a file of {file.Length} bytes (file truncated or not safetensors?)");
        var dataStart = 8 + (long)headerLength;
        var dataLength = file.Length - dataStart;

        var header = file.Span(8, (int)headerLength);
        // JsonDocument checks UTF-8 only when a string is read (InvalidOperationException); check it once here.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new ModelFormatException(path, 8, null, "header is not valid UTF-8 JSON");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, 8 + (e.BytePositionInLine ?? 0), null, $"header is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(path, 8, null, $"header must be a JSON object, found {doc.RootElement.ValueKind}");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(string Name, WeightDType DType, long[] Shape, long Begin, long End)>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    ReadMetadata(path, prop.Value, metadata);
                    continue;
                }
                entries.Add(ReadEntry(path, prop.Name, prop.Value, dataLength, dataStart));
            }

            // Data order, which is also the order writers emit; makes overlap checking a single sweep.
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long previousEnd = 0;
            string? previousName = null;
            var tensors = new List<WeightTensor>(entries.Count);
            foreach (var e in entries)
            {
                if (e.Begin < previousEnd)
                    throw new ModelFormatException(path, dataStart + e.Begin, e.Name, $"data [{e.Begin}, {e.End}) overlaps tensor '{previousName}' ending at {previousEnd}");
                previousEnd = e.End;
                previousName = e.Name;
                var storage = new MappedRegionStorage(file, dataStart + e.Begin, e.End - e.Begin);
                tensors.Add(new WeightTensor(e.Name, e.DType, e.Shape, TensorLayout.ContiguousStrides(e.Shape), 0, storage));
            }
            return new WeightSet(path, WeightFileFormat.Safetensors, tensors, metadata, file);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, 8, null, $"__metadata__ must be an object of strings, found {value.ValueKind}");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException(path, 8, null, $"__metadata__ value for '{m.Name}' must be a string, found {m.Value.ValueKind}");
            metadata[m.Name] = m.Value.GetString()!;
        }
    }

    private static (string, WeightDType, long[], long, long) ReadEntry(string path, string name, JsonElement value, long dataLength, long dataStart)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, 8, name, $"header entry must be an object, found {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
            throw new ModelFormatException(path, 8, name, "missing string field 'dtype'");
        var dtypeName = dtypeJson.GetString()!;
        if (!WeightDTypeInfo.TryParseSafetensorsName(dtypeName, out var dtype))
            throw new ModelFormatException(path, 8, name, $"unsupported dtype '{dtypeName}' (expected one of F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
        var shape = ReadIntegers(path, name, value, "shape", -1);
        var offsets = ReadIntegers(path, name, value, "data_offsets", 2);
        long begin = offsets[0], end = offsets[1];
        if (begin > end || end > dataLength)
            throw new ModelFormatException(path, dataStart + begin, name, $"data_offsets [{begin}, {end}) outside the {dataLength}-byte data section (file truncated?)");
        long expected;
        try
        {
            expected = checked(TensorLayout.ElementCount(shape) * WeightDTypeInfo.ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw new ModelFormatException(path, 8, name, $"shape [{string.Join(", ", shape)}] is too large");
        }
        if (end - begin != expected)
            throw new ModelFormatException(path, dataStart + begin, name, $"shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes, data_offsets give {end - begin}");
        return (name, dtype, shape, begin, end);
    }

    private static long[] ReadIntegers(string path, string name, JsonElement entry, string field, int requiredLength)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException(path, 8, name, $"missing array field '{field}'");
        var result = new long[array.GetArrayLength()];
        if (requiredLength >= 0 && result.Length != requiredLength)
            throw new ModelFormatException(path, 8, name, $"'{field}' must have {requiredLength} elements, found {result.Length}");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
                throw new ModelFormatException(path, 8, name, $"'{field}' must hold non-negative integers, found {item}");
            result[i++] = v;
        }
        return result;
    }
}
