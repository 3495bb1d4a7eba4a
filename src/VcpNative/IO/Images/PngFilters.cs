// The five PNG scanline filters (None, Sub, Up, Average, Paeth), applied by the encoder and undone by the decoder.
using System.Numerics.Tensors;

namespace VcpNative.IO.Images;

internal static class PngFilters
{
    public const int None = 0, Sub = 1, Up = 2, Average = 3, Paeth = 4;

    /// <summary>Reconstructs <paramref name="row"/> in place. <paramref name="previous"/> is the reconstructed row
    /// above, or empty for the first row of a pass (then treated as zeros). bpp = bytes per complete pixel, min 1.</summary>
    public static bool Unfilter(int filterType, Span<byte> row, ReadOnlySpan<byte> previous, int bpp)
    {
        bool hasPrevious = !previous.IsEmpty;
        switch (filterType)
        {
            case None:
                return true;
            case Sub:
                for (int i = bpp; i < row.Length; i++)
                    row[i] += row[i - bpp];
                return true;
            case Up:
                if (hasPrevious)
                    for (int i = 0; i < row.Length; i++)
                        row[i] += previous[i];
                return true;
            case Average:
                for (int i = 0; i < row.Length; i++)
                {
                    int left = i >= bpp ? row[i - bpp] : 0;
                    int up = hasPrevious ? previous[i] : 0;
                    row[i] += (byte)((left + up) >> 1);
                }
                return true;
            case Paeth:
                for (int i = 0; i < row.Length; i++)
                {
                    int left = i >= bpp ? row[i - bpp] : 0;
                    int up = hasPrevious ? previous[i] : 0;
                    int upLeft = hasPrevious && i >= bpp ? previous[i - bpp] : 0;
                    row[i] += PaethPredictor(left, up, upLeft);
                }
                return true;
            default:
                return false;
        }
    }

    /// <summary>Writes filter(<paramref name="row"/>) into <paramref name="output"/> (same length, without the type byte).</summary>
    /// <remarks>
    /// One loop per filter type, the first <paramref name="bpp"/> bytes (no left neighbour) apart: the encoder tries all
    /// five filters on every row, and a per-byte switch made that most of a small PNG's encode time.
    /// </remarks>
    public static void Apply(int filterType, ReadOnlySpan<byte> row, ReadOnlySpan<byte> previous, int bpp, Span<byte> output)
    {
        int n = row.Length;
        output = output[..n];
        int head = Math.Min(bpp, n);
        bool hasPrevious = !previous.IsEmpty;
        if (hasPrevious)
        {
            previous = previous[..n];
        }
        switch (filterType)
        {
            case Sub:
                row[..head].CopyTo(output);
                TensorPrimitives.Subtract(row[head..], row[..(n - head)], output[head..]);
                return;
            case Up:
                if (hasPrevious)
                {
                    TensorPrimitives.Subtract(row, previous, output);
                }
                else
                {
                    row.CopyTo(output);
                }
                return;
            case Average:
                if (hasPrevious)
                {
                    for (int i = 0; i < head; i++)
                        output[i] = (byte)(row[i] - (previous[i] >> 1));
                    for (int i = head; i < n; i++)
                        output[i] = (byte)(row[i] - ((row[i - bpp] + previous[i]) >> 1));
                }
                else
                {
                    row[..head].CopyTo(output);
                    for (int i = head; i < n; i++)
                        output[i] = (byte)(row[i] - (row[i - bpp] >> 1));
                }
                return;
            case Paeth:
                if (hasPrevious)
                {
                    // Left and upper-left are 0 here, so the predictor is the byte above.
                    TensorPrimitives.Subtract(row[..head], previous[..head], output);
                    for (int i = head; i < n; i++)
                        output[i] = (byte)(row[i] - PaethPredictor(row[i - bpp], previous[i], previous[i - bpp]));
                }
                else
                {
                    // Up and upper-left are 0, so the predictor is the left byte (Sub).
                    row[..head].CopyTo(output);
                    TensorPrimitives.Subtract(row[head..], row[..(n - head)], output[head..]);
                }
                return;
            default:
                row.CopyTo(output);
                return;
        }
    }

    private static byte PaethPredictor(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc)
            return (byte)a;
        return pb <= pc ? (byte)b : (byte)c;
    }
}
