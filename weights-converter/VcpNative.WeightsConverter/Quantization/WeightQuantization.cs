// The two lossy encodings of f32 weights: bfloat16 (round to nearest even) and symmetric per-row int8.
namespace VcpNative.WeightsConverter.Quantization;

/// <summary>Encoders; decoding is q * scale (int8) or a 16-bit shift (bf16), done where the weights are used.</summary>
public static class WeightQuantization
{
    /// <summary>float to bfloat16 bits, round to nearest even as PyTorch's <c>.to(torch.bfloat16)</c>; a NaN stays a (quiet) NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000)
        {
            // Truncating a NaN whose payload sits only in the low half would give infinity: force a quiet-NaN bit.
            return (ushort)((bits >> 16) | 0x40);
        }
        var rounding = 0x7fffu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public static void ToBFloat16(ReadOnlySpan<float> values, Span<ushort> bits)
    {
        if (bits.Length < values.Length)
        {
            throw new ArgumentException($"destination holds {bits.Length} values, source has {values.Length}", nameof(bits));
        }
        for (var i = 0; i < values.Length; i++)
        {
            bits[i] = ToBFloat16(values[i]);
        }
    }

    /// <summary>
    /// Quantises one weight row: scale = max|row| / 127, q = clamp(round_half_even(v / scale), -127, 127); returns the
    /// scale. An all-zero row gets scale 0 and q = 0 (dequantises to exact zeros). Non-finite values are refused: a
    /// NaN or infinite scale would silently poison the whole output channel.
    /// </summary>
    public static float QuantizeInt8Row(ReadOnlySpan<float> row, Span<sbyte> q)
    {
        if (q.Length < row.Length)
        {
            throw new ArgumentException($"destination holds {q.Length} values, row has {row.Length}", nameof(q));
        }
        var max = 0f;
        foreach (var v in row)
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException($"cannot quantise a non-finite weight ({v}) to int8", nameof(row));
            }
            max = Math.Max(max, Math.Abs(v));
        }
        var scale = max / 127f;
        if (scale == 0f)
        {
            q[..row.Length].Clear();
            return 0f;
        }
        // Divide (not multiply by 1/scale) so that the row's largest value maps to exactly +-127.
        for (var i = 0; i < row.Length; i++)
        {
            var r = MathF.Round(row[i] / scale, MidpointRounding.ToEven);
            q[i] = (sbyte)Math.Clamp(r, -127f, 127f);
        }
        return scale;
    }
}
