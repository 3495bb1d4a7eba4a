// Writes float32 arrays as NumPy .npy version 1.0 files ('<f4', C order), readable by numpy.load.
using System.Buffers.Binary;
using System.Text;

namespace VcpNative.IO;

/// <summary>Writes f32 arrays as NumPy .npy files.</summary>
public static class NpyWriter
{
    /// <summary>Writes <paramref name="values"/> with <paramref name="shape"/> as a .npy file at <paramref name="path"/>.</summary>
    public static void Write(string path, ReadOnlySpan<float> values, params int[] shape)
    {
        using var stream = File.Create(path);
        Write(stream, values, shape);
    }

    /// <summary>Writes <paramref name="values"/> with <paramref name="shape"/> in .npy format to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, ReadOnlySpan<float> values, params int[] shape)
    {
        long count = 1;
        foreach (int d in shape)
            count *= d;
        if (count != values.Length)
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} values, got {values.Length}", nameof(shape));

        // Same text numpy 1.24 writes: Python dict repr, a trailing comma in 1-tuples, space padding and '\n' so
        // that magic + length + header is a multiple of 64 bytes (numpy's ARRAY_ALIGN).
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        int unpadded = 10 + dict.Length + 1;
        int headerLength = dict.Length + 1 + (64 - unpadded % 64) % 64;
        if (headerLength > ushort.MaxValue)
            throw new ArgumentException("shape too long for an .npy v1.0 header", nameof(shape));
        string header = dict.PadRight(headerLength - 1) + "\n";

        Span<byte> prefix = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 0, 0];
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], (ushort)headerLength);
        stream.Write(prefix);
        stream.Write(Encoding.ASCII.GetBytes(header));
        var buffer = new byte[Math.Min(values.Length, 16384) * 4];
        for (int start = 0; start < values.Length; start += buffer.Length / 4)
        {
            int n = Math.Min(buffer.Length / 4, values.Length - start);
            for (int i = 0; i < n; i++)
                BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), values[start + i]);
            stream.Write(buffer, 0, 4 * n);
        }
    }
}
