// A seeded random source whose state can be saved and restored, so an interrupted training run resumes bit-exactly.
namespace VcpNative.Anomaly.Training;

/// <summary>
/// xoshiro256** behind the <see cref="System.Random"/> API (every virtual overridden, so the base generator is never
/// used); <see cref="State"/> / <see cref="FromState"/> round-trip it through a checkpoint.
/// </summary>
public sealed class TrainingRandom : System.Random
{
    private ulong s0, s1, s2, s3;

    /// <summary>Seeds the four state words with SplitMix64, as the xoshiro authors recommend.</summary>
    public TrainingRandom(ulong seed)
    {
        var x = seed;
        s0 = SplitMix(ref x);
        s1 = SplitMix(ref x);
        s2 = SplitMix(ref x);
        s3 = SplitMix(ref x);
    }

    private TrainingRandom(ulong a, ulong b, ulong c, ulong d)
    {
        (s0, s1, s2, s3) = (a, b, c, d);
    }

    /// <summary>The generator state as 64 hex digits.</summary>
    public string State => $"{s0:x16}{s1:x16}{s2:x16}{s3:x16}";

    /// <summary>Restores a generator from its <see cref="State"/> (64 hex digits).</summary>
    public static TrainingRandom FromState(string state)
    {
        if (state.Length != 64)
        {
            throw new FormatException($"random state must be 64 hex digits, found {state.Length} characters");
        }
        ulong Word(int i) => ulong.Parse(state.AsSpan(i * 16, 16), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        return new TrainingRandom(Word(0), Word(1), Word(2), Word(3));
    }

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <inheritdoc/>
    public override float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <inheritdoc/>
    protected override double Sample() => NextDouble();

    /// <summary>Uniform in [0, int.MaxValue), as System.Random.Next().</summary>
    public override int Next()
    {
        while (true)
        {
            var v = (int)(NextUInt64() >> 33);
            if (v != int.MaxValue)
            {
                return v;
            }
        }
    }

    /// <inheritdoc/>
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)NextInt64(maxValue);
    }

    /// <inheritdoc/>
    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return (int)(minValue + NextInt64((long)maxValue - minValue));
    }

    /// <inheritdoc/>
    public override long NextInt64()
    {
        while (true)
        {
            var v = (long)(NextUInt64() >> 1);
            if (v != long.MaxValue)
            {
                return v;
            }
        }
    }

    /// <summary>Uniform in [0, maxValue) by rejection (no modulo bias).</summary>
    public override long NextInt64(long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        if (maxValue <= 1)
        {
            return 0;
        }
        var range = (ulong)maxValue;
        var limit = ulong.MaxValue - ulong.MaxValue % range;
        ulong draw;
        do
        {
            draw = NextUInt64();
        }
        while (draw >= limit);
        return (long)(draw % range);
    }

    /// <inheritdoc/>
    public override long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return minValue + NextInt64(maxValue - minValue);
    }

    /// <inheritdoc/>
    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    /// <inheritdoc/>
    public override void NextBytes(Span<byte> buffer)
    {
        for (var i = 0; i < buffer.Length; i += 8)
        {
            var word = NextUInt64();
            for (var k = 0; k < 8 && i + k < buffer.Length; k++)
            {
                buffer[i + k] = (byte)(word >> (8 * k));
            }
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
