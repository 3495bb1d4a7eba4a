// The bf16 and int8 encoders against independent float64 references: rounding ties, NaN/inf, zero rows, clamping.
using VcpNative.WeightsConverter.Quantization;
using Xunit;

namespace VcpNative.Tests.WeightFormats;

public class WeightQuantizationTests
{
    /// <summary>Nearest bf16 by comparing distances in float64 to the two truncation neighbours; ties go to the even mantissa.</summary>
    private static ushort ReferenceBFloat16(float v)
    {
        var bits = BitConverter.SingleToUInt32Bits(v);
        var down = bits & 0xFFFF0000u;
        var up = down + 0x10000u;
        double dDown = Math.Abs((double)v - BitConverter.UInt32BitsToSingle(down));
        // The neighbour above the largest finite bf16 is infinity; compare with the distance to 2^128 as IEEE rounding does.
        var upValue = (up & 0x7FFFFFFFu) >= 0x7F800000u ? Math.CopySign(Math.Pow(2, 128), v) : BitConverter.UInt32BitsToSingle(up);
        double dUp = Math.Abs(upValue - v);
        if (dDown < dUp || (dDown == dUp && ((down >> 16) & 1) == 0))
        {
            return (ushort)(down >> 16);
        }
        return (ushort)(up >> 16);
    }

    [Theory]
    [InlineData(0x3F808000u, 0x3F80)] // 1 + 2^-8: halfway between 1 and 1 + 2^-7, even neighbour is 1
    [InlineData(0x3F818000u, 0x3F82)] // 1 + 3 * 2^-8: halfway, even neighbour is the upper one
    [InlineData(0x3F808001u, 0x3F81)] // just above halfway rounds up
    [InlineData(0x3F807FFFu, 0x3F80)] // just below halfway rounds down
    [InlineData(0xBF818000u, 0xBF82)] // ties to even for negatives too
    [InlineData(0x7F7FFFFFu, 0x7F80)] // float max rounds to +inf, as PyTorch does
    [InlineData(0x7F800000u, 0x7F80)] // +inf stays inf
    [InlineData(0x00000001u, 0x0000)] // smallest denormal rounds to zero
    public void BFloat16RoundsToNearestEven(uint input, int expected)
    {
        var v = BitConverter.UInt32BitsToSingle(input);
        Assert.Equal((ushort)expected, WeightQuantization.ToBFloat16(v));
        if (float.IsFinite(v))
        {
            Assert.Equal(ReferenceBFloat16(v), WeightQuantization.ToBFloat16(v));
        }
    }

    [Theory]
    [InlineData(0x7FC00000u)]
    [InlineData(0x7F800001u)] // payload only in the low half: truncation alone would give +inf
    [InlineData(0xFF800001u)]
    public void BFloat16KeepsNaNsNaN(uint input)
    {
        var bits = WeightQuantization.ToBFloat16(BitConverter.UInt32BitsToSingle(input));
        Assert.True(float.IsNaN(BitConverter.Int32BitsToSingle(bits << 16)), $"0x{input:X8} -> 0x{bits:X4}");
    }

    [Fact]
    public void BFloat16MatchesTheReferenceOnRandomFloats()
    {
        var rng = new Random(5);
        for (var i = 0; i < 200_000; i++)
        {
            var v = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
            if (!float.IsFinite(v))
            {
                continue;
            }
            Assert.Equal(ReferenceBFloat16(v), WeightQuantization.ToBFloat16(v));
        }
    }

    [Fact]
    public void Int8ScaleIsRowMaxOver127AndRoundsHalfToEven()
    {
        // max |row| = 127 -> scale exactly 1, so v / scale = v: the .5 cases are exact ties.
        float[] row = [127f, 0.5f, 1.5f, 2.5f, -2.5f, -127f, 3.49f, 0f];
        var q = new sbyte[row.Length];
        var scale = WeightQuantization.QuantizeInt8Row(row, q);
        Assert.Equal(1f, scale);
        Assert.Equal(new sbyte[] { 127, 0, 2, 2, -2, -127, 3, 0 }, q);
    }

    [Fact]
    public void Int8RoundTripErrorIsAtMostHalfAStep()
    {
        var rng = new Random(9);
        var row = new float[301];
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = (float)((rng.NextDouble() * 2 - 1) * 0.07);
        }
        var q = new sbyte[row.Length];
        var scale = WeightQuantization.QuantizeInt8Row(row, q);
        double max = 0;
        foreach (var v in row)
        {
            max = Math.Max(max, Math.Abs(v));
        }
        Assert.Equal((float)(max / 127), scale, 1e-9f);
        var reachesFullRange = false;
        for (var i = 0; i < row.Length; i++)
        {
            Assert.InRange(q[i], (sbyte)-127, (sbyte)127);
            reachesFullRange |= Math.Abs((int)q[i]) == 127;
            // Half a quantisation step, plus float rounding of v / scale (a few ulps of the quotient).
            Assert.True(Math.Abs(q[i] * (double)scale - row[i]) <= scale * (0.5 + 1e-5), $"element {i}: {row[i]} -> {q[i]} * {scale}");
        }
        Assert.True(reachesFullRange, "the largest |value| must map to +-127");
    }

    [Fact]
    public void ZeroRowGetsScaleZeroAndZeros()
    {
        var q = new sbyte[] { 1, 2, 3 };
        Assert.Equal(0f, WeightQuantization.QuantizeInt8Row(new float[3], q));
        Assert.Equal(new sbyte[3], q);
    }

    [Fact]
    public void NonFiniteWeightsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => WeightQuantization.QuantizeInt8Row([1f, float.NaN], new sbyte[2]));
        Assert.Throws<ArgumentException>(() => WeightQuantization.QuantizeInt8Row([float.PositiveInfinity], new sbyte[1]));
    }
}
