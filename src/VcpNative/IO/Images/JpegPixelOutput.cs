// Turns decoded coefficients into pixels the way libjpeg-turbo does by default: islow IDCT, "fancy" triangle upsampling for 2:1 chroma, box replication otherwise, and fixed-point YCbCr->RGB.
namespace VcpNative.IO.Images;

internal static class JpegPixelOutput
{
    public enum UpsampleKind
    {
        FullSize,
        FancyH2V1,
        FancyH1V2,
        FancyH2V2,
        Replicate,
    }

    /// <summary>How a component reaches full resolution; null when the ratio is not an integer (libjpeg refuses those too).</summary>
    public static UpsampleKind? ChooseUpsampling(JpegFrame frame, JpegComponent c)
    {
        int hIn = c.H, vIn = c.V, hOut = frame.MaxH, vOut = frame.MaxV;
        if (hIn == hOut && vIn == vOut)
        {
            return UpsampleKind.FullSize;
        }

        // libjpeg only triangle-filters a 2:1 row when it has more than 2 samples.
        if (hIn * 2 == hOut && vIn == vOut && c.SampleWidth > 2)
        {
            return UpsampleKind.FancyH2V1;
        }

        if (hIn == hOut && vIn * 2 == vOut)
        {
            return UpsampleKind.FancyH1V2;
        }

        if (hIn * 2 == hOut && vIn * 2 == vOut && c.SampleWidth > 2)
        {
            return UpsampleKind.FancyH2V2;
        }

        if (hOut % hIn == 0 && vOut % vIn == 0)
        {
            return UpsampleKind.Replicate;
        }

        return null;
    }

    /// <summary>Produces interleaved output pixels (grey or RGB) from the frame's coefficients; 4-component frames
    /// (CMYK, or YCCK when <paramref name="storedAsYcck"/>) come out as Pillow's RGB.</summary>
    public static byte[] Render(JpegFrame frame, bool storedAsRgb, bool storedAsYcck)
    {
        int width = frame.Width, height = frame.Height;
        var components = frame.Components;
        if (components.Length == 1)
        {
            var grey = components[0];
            byte[] plane = InverseTransform(grey, out int stride);
            var pixels = new byte[width * height];
            for (int y = 0; y < height; y++)
            {
                Buffer.BlockCopy(plane, y * stride, pixels, y * width, width);
            }

            return pixels;
        }

        int count = components.Length;
        var planes = new byte[count][];
        var strides = new int[count];
        for (int i = 0; i < count; i++)
        {
            var c = components[i];
            byte[] samples = InverseTransform(c, out int stride);
            var kind = ChooseUpsampling(frame, c)!.Value;
            if (kind == UpsampleKind.FullSize)
            {
                planes[i] = samples;
                strides[i] = stride;
            }
            else
            {
                planes[i] = Upsample(samples, stride, c, frame, kind, out strides[i]);
            }
        }

        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            var row = rgb.AsSpan(y * width * 3, width * 3);
            var c0 = planes[0].AsSpan(y * strides[0], width);
            var c1 = planes[1].AsSpan(y * strides[1], width);
            var c2 = planes[2].AsSpan(y * strides[2], width);
            if (count == 4)
            {
                AdobeCmykToRgbRow(c0, c1, c2, planes[3].AsSpan(y * strides[3], width), storedAsYcck, row);
            }
            else if (storedAsRgb)
            {
                for (int x = 0; x < width; x++)
                {
                    row[3 * x] = c0[x];
                    row[(3 * x) + 1] = c1[x];
                    row[(3 * x) + 2] = c2[x];
                }
            }
            else
            {
                YCbCrToRgbRow(c0, c1, c2, row);
            }
        }

        return rgb;
    }

    /// <summary>IDCT of every block that holds real samples, into a plane of BlocksWide*8 columns.</summary>
    private static unsafe byte[] InverseTransform(JpegComponent c, out int stride)
    {
        stride = c.BlocksWide * 8;
        var plane = new byte[stride * c.BlocksHigh * 8];
        fixed (short* coefficients = c.Coefficients)
        fixed (int* quant = c.Quant)
        fixed (byte* output = plane)
        {
            for (int by = 0; by < c.BlocksHigh; by++)
            {
                for (int bx = 0; bx < c.BlocksWide; bx++)
                {
                    short* block = coefficients + ((((long)by * c.PaddedBlocksWide) + bx) * 64);
                    JpegIdct.Transform(block, quant, output + ((long)by * 8 * stride) + (bx * 8), stride);
                }
            }
        }

        return plane;
    }

    /// <summary>Upsamples the component's SampleWidth x SampleHeight samples by MaxH/H x MaxV/V; edges repeat the last real sample as libjpeg's context rows do.</summary>
    private static byte[] Upsample(byte[] src, int srcStride, JpegComponent c, JpegFrame frame, UpsampleKind kind, out int dstStride)
    {
        int hExpand = frame.MaxH / c.H, vExpand = frame.MaxV / c.V;
        int sw = c.SampleWidth, sh = c.SampleHeight;
        dstStride = sw * hExpand;
        var dst = new byte[dstStride * sh * vExpand];
        switch (kind)
        {
            case UpsampleKind.FancyH2V1:
                for (int y = 0; y < sh; y++)
                {
                    FancyH2V1Row(src.AsSpan(y * srcStride, sw), dst.AsSpan(y * dstStride, dstStride));
                }

                break;
            case UpsampleKind.FancyH1V2:
                for (int y = 0; y < sh; y++)
                {
                    var near = RowWithNeighbours(src, srcStride, sw, sh, y, out var above, out var below);
                    var upper = dst.AsSpan(2 * y * dstStride, sw);
                    var lower = dst.AsSpan(((2 * y) + 1) * dstStride, sw);
                    for (int x = 0; x < sw; x++)
                    {
                        // 3/4 nearer row + 1/4 further row; the biases 1 and 2 alternate the rounding of halves.
                        upper[x] = (byte)(((3 * near[x]) + above[x] + 1) >> 2);
                        lower[x] = (byte)(((3 * near[x]) + below[x] + 2) >> 2);
                    }
                }

                break;
            case UpsampleKind.FancyH2V2:
                for (int y = 0; y < sh; y++)
                {
                    var near = RowWithNeighbours(src, srcStride, sw, sh, y, out var above, out var below);
                    FancyH2V2Row(near, above, dst.AsSpan(2 * y * dstStride, dstStride));
                    FancyH2V2Row(near, below, dst.AsSpan(((2 * y) + 1) * dstStride, dstStride));
                }

                break;
            default:
                for (int y = 0; y < sh; y++)
                {
                    var inRow = src.AsSpan(y * srcStride, sw);
                    var outRow = dst.AsSpan(y * vExpand * dstStride, dstStride);
                    for (int x = 0; x < sw; x++)
                    {
                        outRow.Slice(x * hExpand, hExpand).Fill(inRow[x]);
                    }

                    for (int r = 1; r < vExpand; r++)
                    {
                        outRow.CopyTo(dst.AsSpan(((y * vExpand) + r) * dstStride, dstStride));
                    }
                }

                break;
        }

        return dst;
    }

    /// <summary>Sample row y and the rows above and below it, the first and last rows standing in for the missing neighbours at the edges.</summary>
    private static ReadOnlySpan<byte> RowWithNeighbours(
        byte[] src, int stride, int width, int height, int y, out ReadOnlySpan<byte> above, out ReadOnlySpan<byte> below)
    {
        above = src.AsSpan(Math.Max(y - 1, 0) * stride, width);
        below = src.AsSpan(Math.Min(y + 1, height - 1) * stride, width);
        return src.AsSpan(y * stride, width);
    }

    /// <summary>Horizontal triangle filter: each output is 3/4 of the nearer input plus 1/4 of the further one (libjpeg h2v1 "fancy").</summary>
    private static void FancyH2V1Row(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int n = input.Length;
        output[0] = input[0];
        output[1] = (byte)(((input[0] * 3) + input[1] + 2) >> 2);
        for (int i = 1; i < n - 1; i++)
        {
            int nearer = input[i] * 3;
            output[2 * i] = (byte)((nearer + input[i - 1] + 1) >> 2);
            output[(2 * i) + 1] = (byte)((nearer + input[i + 1] + 2) >> 2);
        }

        output[(2 * n) - 2] = (byte)(((input[n - 1] * 3) + input[n - 2] + 1) >> 2);
        output[(2 * n) - 1] = input[n - 1];
    }

    /// <summary>One output row of the 2-D triangle filter: column sums 3*nearer row + further row, then 3:1 across columns (weights 9/16, 3/16, 3/16, 1/16).</summary>
    private static void FancyH2V2Row(ReadOnlySpan<byte> near, ReadOnlySpan<byte> far, Span<byte> output)
    {
        int n = near.Length;
        int thisSum = (near[0] * 3) + far[0];
        int nextSum = (near[1] * 3) + far[1];
        output[0] = (byte)(((thisSum * 4) + 8) >> 4);
        output[1] = (byte)(((thisSum * 3) + nextSum + 7) >> 4);
        int lastSum = thisSum;
        thisSum = nextSum;
        for (int i = 1; i < n - 1; i++)
        {
            nextSum = (near[i + 1] * 3) + far[i + 1];
            output[2 * i] = (byte)(((thisSum * 3) + lastSum + 8) >> 4);
            output[(2 * i) + 1] = (byte)(((thisSum * 3) + nextSum + 7) >> 4);
            lastSum = thisSum;
            thisSum = nextSum;
        }

        output[(2 * n) - 2] = (byte)(((thisSum * 3) + lastSum + 8) >> 4);
        output[(2 * n) - 1] = (byte)(((thisSum * 4) + 7) >> 4);
    }

    // JFIF YCbCr->RGB in 16-bit fixed point, tabulated per chroma value exactly as libjpeg's jdcolor.c builds its tables.
    private const int ScaleBits = 16;
    private const int OneHalf = 1 << (ScaleBits - 1);
    private static readonly int[] CrToR = ChromaTable(x => ((Fix(1.40200) * x) + OneHalf) >> ScaleBits);
    private static readonly int[] CbToB = ChromaTable(x => ((Fix(1.77200) * x) + OneHalf) >> ScaleBits);
    private static readonly int[] CrToG = ChromaTable(x => -Fix(0.71414) * x);
    private static readonly int[] CbToG = ChromaTable(x => (-Fix(0.34414) * x) + OneHalf);

    private static int Fix(double x) => (int)((x * (1 << ScaleBits)) + 0.5);

    /// <summary>Tabulates f over the centred chroma value (sample - 128) for every sample 0..255.</summary>
    private static int[] ChromaTable(Func<int, int> f)
    {
        var table = new int[256];
        for (int i = 0; i < 256; i++)
        {
            table[i] = f(i - 128);
        }

        return table;
    }

    private static void YCbCrToRgbRow(ReadOnlySpan<byte> yRow, ReadOnlySpan<byte> cbRow, ReadOnlySpan<byte> crRow, Span<byte> rgb)
    {
        var crToR = CrToR;
        var cbToB = CbToB;
        var crToG = CrToG;
        var cbToG = CbToG;
        for (int x = 0; x < yRow.Length; x++)
        {
            int y = yRow[x], cb = cbRow[x], cr = crRow[x];
            rgb[3 * x] = ClampToByte(y + crToR[cr]);
            rgb[(3 * x) + 1] = ClampToByte(y + ((cbToG[cb] + crToG[cr]) >> ScaleBits));
            rgb[(3 * x) + 2] = ClampToByte(y + cbToB[cb]);
        }
    }

    /// <summary>
    /// One row of a 4-component frame to RGB, as Pillow gets it: libjpeg turns YCCK into CMYK (the YCbCr part
    /// through the same tables as RGB, then 255 - value; K passes through); Pillow reads CMYK JPEGs as Adobe's
    /// inverted "CMYK;I" (every sample 255 - value), then converts CMYK to RGB. The two inversions of YCCK cancel.
    /// </summary>
    private static void AdobeCmykToRgbRow(
        ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, ReadOnlySpan<byte> k, bool ycck, Span<byte> rgb)
    {
        for (int x = 0; x < c0.Length; x++)
        {
            int c, m, yy;
            if (ycck)
            {
                int y = c0[x], cb = c1[x], cr = c2[x];
                c = ClampToByte(y + CrToR[cr]);
                m = ClampToByte(y + ((CbToG[cb] + CrToG[cr]) >> ScaleBits));
                yy = ClampToByte(y + CbToB[cb]);
            }
            else
            {
                c = 255 - c0[x];
                m = 255 - c1[x];
                yy = 255 - c2[x];
            }

            CmykToRgb.Convert(c, m, yy, 255 - k[x], rgb.Slice(3 * x, 3));
        }
    }

    private static byte ClampToByte(int v) => (byte)Math.Clamp(v, 0, 255);
}
