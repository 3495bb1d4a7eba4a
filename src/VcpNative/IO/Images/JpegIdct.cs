// Dequantisation + 8x8 inverse DCT with the same integer arithmetic as libjpeg's "islow" method, so output matches libjpeg-turbo bit for bit.
using System.Runtime.CompilerServices;

namespace VcpNative.IO.Images;

internal static class JpegIdct
{
    // Loeffler-Ligtenberg-Moschytz factorisation in 13-bit fixed point; the first pass keeps 2 extra bits of precision.
    private const int ConstBits = 13;
    private const int Pass1Bits = 2;
    private const long Fix0298631336 = 2446;
    private const long Fix0390180644 = 3196;
    private const long Fix0541196100 = 4433;
    private const long Fix0765366865 = 6270;
    private const long Fix0899976223 = 7373;
    private const long Fix1175875602 = 9633;
    private const long Fix1501321110 = 12299;
    private const long Fix1847759065 = 15137;
    private const long Fix1961570560 = 16069;
    private const long Fix2053119869 = 16819;
    private const long Fix2562915447 = 20995;
    private const long Fix3072711026 = 25172;

    /// <summary>
    /// Maps (centred IDCT output &amp; 1023) to a sample: -128..127 -> 0..255, larger values clamp, and like libjpeg's table
    /// wildly out-of-range values (corrupt data only) wrap modulo 1024.
    /// </summary>
    private static readonly byte[] RangeLimit = BuildRangeLimit();

    private static byte[] BuildRangeLimit()
    {
        var table = new byte[1024];
        for (int i = 0; i < 1024; i++)
        {
            int centred = i < 512 ? i : i - 1024;
            table[i] = (byte)Math.Clamp(centred + 128, 0, 255);
        }

        return table;
    }

    /// <summary>Dequantises one block (natural order) and writes its 8x8 samples at output with the given row stride.</summary>
    [SkipLocalsInit]
    public static unsafe void Transform(short* coefficients, int* quant, byte* output, int stride)
    {
        int* workspace = stackalloc int[64];
        byte[] rangeLimit = RangeLimit;

        // Pass 1: columns, from the coefficients into the workspace, scaled up by 2^Pass1Bits.
        for (int col = 0; col < 8; col++)
        {
            short* c = coefficients + col;
            int* q = quant + col;
            int* w = workspace + col;
            if (c[8] == 0 && c[16] == 0 && c[24] == 0 && c[32] == 0 && c[40] == 0 && c[48] == 0 && c[56] == 0)
            {
                // Only the DC term: the column is constant.
                int dc = (c[0] * q[0]) << Pass1Bits;
                w[0] = dc; w[8] = dc; w[16] = dc; w[24] = dc; w[32] = dc; w[40] = dc; w[48] = dc; w[56] = dc;
                continue;
            }

            Butterfly(
                (long)c[0] * q[0], (long)c[8] * q[8], (long)c[16] * q[16], (long)c[24] * q[24],
                (long)c[32] * q[32], (long)c[40] * q[40], (long)c[48] * q[48], (long)c[56] * q[56],
                ConstBits - Pass1Bits, out long o0, out long o1, out long o2, out long o3, out long o4, out long o5, out long o6, out long o7);
            w[0] = (int)o0; w[8] = (int)o1; w[16] = (int)o2; w[24] = (int)o3;
            w[32] = (int)o4; w[40] = (int)o5; w[48] = (int)o6; w[56] = (int)o7;
        }

        // Pass 2: rows, from the workspace to samples; removes the Pass1Bits scale and the factor 8 of the 2-D transform.
        const int pass2Shift = ConstBits + Pass1Bits + 3;
        for (int row = 0; row < 8; row++)
        {
            int* w = workspace + row * 8;
            byte* o = output + row * stride;
            if (w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0)
            {
                byte dc = rangeLimit[((w[0] + (1 << (Pass1Bits + 2))) >> (Pass1Bits + 3)) & 1023];
                o[0] = dc; o[1] = dc; o[2] = dc; o[3] = dc; o[4] = dc; o[5] = dc; o[6] = dc; o[7] = dc;
                continue;
            }

            Butterfly(
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
                pass2Shift, out long o0, out long o1, out long o2, out long o3, out long o4, out long o5, out long o6, out long o7);
            o[0] = rangeLimit[(int)o0 & 1023];
            o[1] = rangeLimit[(int)o1 & 1023];
            o[2] = rangeLimit[(int)o2 & 1023];
            o[3] = rangeLimit[(int)o3 & 1023];
            o[4] = rangeLimit[(int)o4 & 1023];
            o[5] = rangeLimit[(int)o5 & 1023];
            o[6] = rangeLimit[(int)o6 & 1023];
            o[7] = rangeLimit[(int)o7 & 1023];
        }
    }

    /// <summary>One 8-point 1-D IDCT; the outputs are rounded and shifted right by descale bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Butterfly(
        long in0, long in1, long in2, long in3, long in4, long in5, long in6, long in7, int descale,
        out long out0, out long out1, out long out2, out long out3, out long out4, out long out5, out long out6, out long out7)
    {
        // Even part: inputs 0, 2, 4, 6.
        long z1 = (in2 + in6) * Fix0541196100;
        long even2 = z1 - in6 * Fix1847759065;
        long even3 = z1 + in2 * Fix0765366865;
        long even0 = (in0 + in4) << ConstBits;
        long even1 = (in0 - in4) << ConstBits;
        long tmp10 = even0 + even3;
        long tmp13 = even0 - even3;
        long tmp11 = even1 + even2;
        long tmp12 = even1 - even2;

        // Odd part: inputs 7, 5, 3, 1.
        long t0 = in7, t1 = in5, t2 = in3, t3 = in1;
        long zA = t0 + t3;
        long zB = t1 + t2;
        long zC = t0 + t2;
        long zD = t1 + t3;
        long z5 = (zC + zD) * Fix1175875602;
        t0 *= Fix0298631336;
        t1 *= Fix2053119869;
        t2 *= Fix3072711026;
        t3 *= Fix1501321110;
        zA *= -Fix0899976223;
        zB *= -Fix2562915447;
        zC = zC * -Fix1961570560 + z5;
        zD = zD * -Fix0390180644 + z5;
        t0 += zA + zC;
        t1 += zB + zD;
        t2 += zB + zC;
        t3 += zA + zD;

        long round = 1L << (descale - 1);
        out0 = (tmp10 + t3 + round) >> descale;
        out7 = (tmp10 - t3 + round) >> descale;
        out1 = (tmp11 + t2 + round) >> descale;
        out6 = (tmp11 - t2 + round) >> descale;
        out2 = (tmp12 + t1 + round) >> descale;
        out5 = (tmp12 - t1 + round) >> descale;
        out3 = (tmp13 + t0 + round) >> descale;
        out4 = (tmp13 - t0 + round) >> descale;
    }
}
