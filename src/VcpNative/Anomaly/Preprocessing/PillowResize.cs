// Bit-exact re-implementation of Pillow's Image.resize for 8-bit L and RGB images (libImaging/Resample.c).
using VcpNative.IO.Images;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Preprocessing;

/// <summary>Resampling filters of Pillow's Image.resize that we reproduce.</summary>
public enum PillowFilter
{
    /// <summary>Image.BILINEAR (triangle filter, support 1, widened when downscaling).</summary>
    Bilinear,
    /// <summary>Image.BICUBIC (a = -0.5, support 2, widened when downscaling).</summary>
    Bicubic,
}

/// <summary>
/// Follows Pillow's algorithm step by step, because CLIP preprocessing must see the same uint8 pixels as
/// torchvision's Resize on a PIL image: separable convolution, horizontal pass first (only over the rows the
/// vertical pass reads), then vertical; a pass whose size is unchanged is skipped; the kernel support is widened
/// by max(in/out, 1) (antialiasing when shrinking); per-output-pixel weights are normalised in double, turned into
/// 22-bit fixed point with round-half-away-from-zero, accumulated in int32 from 1 &lt;&lt; 21 and clipped to uint8
/// after each pass.
/// </summary>
public static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary><paramref name="image"/> resized to <paramref name="width"/> x <paramref name="height"/> with Pillow's arithmetic.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, PillowFilter filter)
        => new(width, height, Resize(image.Pixels, image.Width, image.Height, 3, width, height, filter));

    /// <summary><paramref name="image"/> resized to <paramref name="width"/> x <paramref name="height"/> with Pillow's arithmetic.</summary>
    public static GreyImage Resize(GreyImage image, int width, int height, PillowFilter filter)
        => new(width, height, Resize(image.Pixels, image.Width, image.Height, 1, width, height, filter));

    /// <summary>Resizes interleaved 8-bit pixels with 1 or 3 channels; returns a new buffer.</summary>
    public static byte[] Resize(byte[] pixels, int inWidth, int inHeight, int channels, int outWidth, int outHeight, PillowFilter filter)
    {
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), $"expected 1 or 3 channels, got {channels}");
        if (outWidth <= 0 || outHeight <= 0)
            throw new ArgumentOutOfRangeException(nameof(outWidth), $"output size must be positive, got {outWidth}x{outHeight}");
        if (pixels.Length != (long)inWidth * inHeight * channels)
            throw new ArgumentException($"pixel buffer holds {pixels.Length} bytes, expected {inWidth}x{inHeight}x{channels}", nameof(pixels));

        bool needHorizontal = outWidth != inWidth;
        bool needVertical = outHeight != inHeight;
        var vertical = new Coefficients(inHeight, outHeight, filter);
        // Rows of the source the vertical pass reads: the horizontal pass only produces these.
        int firstRow = vertical.Start[0];
        int lastRow = vertical.Start[outHeight - 1] + vertical.Count[outHeight - 1];

        byte[] current = pixels;
        int currentHeight = inHeight;
        if (needHorizontal)
        {
            var horizontal = new Coefficients(inWidth, outWidth, filter);
            current = ResampleHorizontal(pixels, inWidth, channels, firstRow, lastRow - firstRow, outWidth, horizontal);
            currentHeight = lastRow - firstRow;
            vertical.ShiftStarts(-firstRow);
        }
        if (needVertical)
            return ResampleVertical(current, outWidth, channels, outHeight, vertical);
        // Without a vertical pass the horizontal pass covered all rows (bounds are then the identity).
        return ReferenceEquals(current, pixels) ? (byte[])pixels.Clone() : current;
    }

    private static byte[] ResampleHorizontal(byte[] src, int inWidth, int channels, int rowOffset, int rows, int outWidth, Coefficients c)
    {
        var dst = new byte[rows * outWidth * channels];
        CpuParallel.ForRange(rows, (start, end) =>
        {
            for (int y = start; y < end; y++)
            {
                ReadOnlySpan<byte> inRow = src.AsSpan((y + rowOffset) * inWidth * channels, inWidth * channels);
                Span<byte> outRow = dst.AsSpan(y * outWidth * channels, outWidth * channels);
                for (int xx = 0; xx < outWidth; xx++)
                {
                    ReadOnlySpan<int> k = c.Weights.AsSpan(xx * c.KernelSize, c.Count[xx]);
                    ConvolveInto(inRow, c.Start[xx] * channels, channels, k, outRow, xx * channels);
                }
            }
        }, minChunk: 8);
        return dst;
    }

    private static byte[] ResampleVertical(byte[] src, int width, int channels, int outHeight, Coefficients c)
    {
        int rowBytes = width * channels;
        var dst = new byte[outHeight * rowBytes];
        CpuParallel.ForRange(outHeight, (start, end) =>
        {
            // Row-at-a-time accumulation keeps reads sequential; integer sums are order-independent, so this
            // equals Pillow's per-sample tap loop exactly.
            var acc = new int[rowBytes];
            for (int yy = start; yy < end; yy++)
            {
                ReadOnlySpan<int> k = c.Weights.AsSpan(yy * c.KernelSize, c.Count[yy]);
                int first = c.Start[yy];
                acc.AsSpan().Fill(1 << (PrecisionBits - 1));
                for (int t = 0; t < k.Length; t++)
                {
                    ReadOnlySpan<byte> inRow = src.AsSpan((first + t) * rowBytes, rowBytes);
                    int w = k[t];
                    for (int i = 0; i < inRow.Length; i++)
                        acc[i] += inRow[i] * w;
                }
                Span<byte> outRow = dst.AsSpan(yy * rowBytes, rowBytes);
                for (int i = 0; i < outRow.Length; i++)
                    outRow[i] = Clip8(acc[i]);
            }
        }, minChunk: 8);
        return dst;
    }

    /// <summary>One output pixel of the horizontal pass: taps over consecutive source pixels starting at byte srcAt.</summary>
    private static void ConvolveInto(ReadOnlySpan<byte> row, int srcAt, int channels, ReadOnlySpan<int> k, Span<byte> outRow, int dstAt)
    {
        const int Half = 1 << (PrecisionBits - 1);
        if (channels == 1)
        {
            int s = Half;
            for (int t = 0; t < k.Length; t++)
                s += row[srcAt + t] * k[t];
            outRow[dstAt] = Clip8(s);
            return;
        }
        int s0 = Half, s1 = Half, s2 = Half;
        for (int t = 0; t < k.Length; t++)
        {
            int p = srcAt + 3 * t;
            s0 += row[p] * k[t];
            s1 += row[p + 1] * k[t];
            s2 += row[p + 2] * k[t];
        }
        outRow[dstAt] = Clip8(s0);
        outRow[dstAt + 1] = Clip8(s1);
        outRow[dstAt + 2] = Clip8(s2);
    }

    /// <summary>Pillow's clip8: arithmetic shift out the fraction, clamp to 0..255 (its lookup table does the same).</summary>
    private static byte Clip8(int fixedPoint)
    {
        int v = fixedPoint >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    private static double Bilinear(double x)
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    private static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0)
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0)
            return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /// <summary>Per-output-index source window and fixed-point weights (Pillow's precompute_coeffs +
    /// normalize_coeffs_8bpc). Every floating-point step keeps Pillow's order of operations, in double.</summary>
    private sealed class Coefficients
    {
        public readonly int KernelSize;
        public readonly int[] Start;
        public readonly int[] Count;
        public readonly int[] Weights;

        public Coefficients(int inSize, int outSize, PillowFilter filter)
        {
            double filterSupport = filter == PillowFilter.Bicubic ? 2.0 : 1.0;
            // Pillow takes the box as float; (float)inSize - 0f is exact for any realistic size.
            double scale = (double)(float)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = filterSupport * filterScale;
            KernelSize = (int)Math.Ceiling(support) * 2 + 1;
            Start = new int[outSize];
            Count = new int[outSize];
            Weights = new int[outSize * KernelSize];
            var kBuffer = new double[KernelSize];
            for (int xx = 0; xx < outSize; xx++)
            {
                double center = 0.0 + (xx + 0.5) * scale;
                double ss = 1.0 / filterScale;
                int xmin = (int)(center - support + 0.5);
                if (xmin < 0)
                    xmin = 0;
                int xmax = (int)(center + support + 0.5);
                if (xmax > inSize)
                    xmax = inSize;
                xmax -= xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++)
                {
                    double w = filter == PillowFilter.Bicubic ? Bicubic((x + xmin - center + 0.5) * ss) : Bilinear((x + xmin - center + 0.5) * ss);
                    kBuffer[x] = w;
                    ww += w;
                }
                for (int x = 0; x < xmax; x++)
                {
                    double w = ww != 0.0 ? kBuffer[x] / ww : kBuffer[x];
                    Weights[xx * KernelSize + x] = w < 0
                        ? (int)(-0.5 + w * (1 << PrecisionBits))
                        : (int)(0.5 + w * (1 << PrecisionBits));
                }
                Start[xx] = xmin;
                Count[xx] = Math.Max(xmax, 0);
            }
        }

        public void ShiftStarts(int delta)
        {
            for (int i = 0; i < Start.Length; i++)
                Start[i] += delta;
        }
    }
}
