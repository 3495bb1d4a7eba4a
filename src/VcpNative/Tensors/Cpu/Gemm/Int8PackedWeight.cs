// A linear weight W[N, K] prepared once for int8 compute: per-output-channel int8 values in the micro-kernels' panels.
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Tensors.Cpu;

/// <summary>
/// W[n, k] = Q[n, k] * Scales[n], Q in [-127, 127] (symmetric, per output channel: the int8 weight file format), packed
/// in panels of <see cref="Int8Kernel.PanelWidth"/> columns x K rounded up to 4 (zero padding), plus the per-column
/// sums of Q that the driver multiplies by the kernel's activation bias (128 VNNI, 64 avx2u7) and subtracts. Immutable after construction; shared by all threads.
/// </summary>
internal sealed class Int8PackedWeight
{
    private Int8PackedWeight(int n, int k, float[] scales, Int8OutlierPolicy outliers)
    {
        N = n;
        K = k;
        KPadded = (k + 3) & ~3;
        PanelCount = (n + Int8Kernel.PanelWidth - 1) / Int8Kernel.PanelWidth;
        Panels = new sbyte[(long)PanelCount * Int8Kernel.PanelWidth * KPadded];
        ColumnSums = new int[PanelCount * Int8Kernel.PanelWidth];
        Scales = scales;
        Outliers = outliers;
    }

    /// <summary>Output channels (rows of W).</summary>
    public int N { get; }

    /// <summary>Input channels (columns of W).</summary>
    public int K { get; }

    /// <summary>K rounded up to a multiple of 4 (the kernels' byte groups).</summary>
    public int KPadded { get; }

    /// <summary>Number of 16-column panels.</summary>
    public int PanelCount { get; }

    /// <summary>Panel p, group g, column j, byte t at ((p * KPadded / 4 + g) * 16 + j) * 4 + t.</summary>
    public sbyte[] Panels { get; }

    /// <summary>sum_k Q[n, k] per (padded) column: the correction for biased activations is ActivationBias times this.</summary>
    public int[] ColumnSums { get; }

    /// <summary>Per-output-channel scales [N].</summary>
    public float[] Scales { get; }

    /// <summary>Which input channels of a call's activations go through the fp32 side product.</summary>
    public Int8OutlierPolicy Outliers { get; }

    /// <summary>Bytes held (panels, sums, scales).</summary>
    public long Bytes => Panels.LongLength + (ColumnSums.LongLength * sizeof(int)) + (Scales.LongLength * sizeof(float));

    /// <summary>Q[n, k] read back from the panels.</summary>
    public sbyte At(int n, int k) => Panels[Offset(n, k)];

    /// <summary>
    /// The f32 weight this was quantised from, row-major [N, K] at <see cref="SourceOffset"/>, when the caller keeps it
    /// alive (the weight tensor's own storage); null for an int8 weight file. The outlier columns use it: their
    /// activations are large, so their weights' rounding error would be magnified.
    /// </summary>
    public float[]? Source { get; private init; }

    /// <summary>Offset of W[0, 0] in <see cref="Source"/>.</summary>
    public int SourceOffset { get; private init; }

    /// <summary>W[n, k] in f32: the source weight when kept, else Q[n, k] * scale[n].</summary>
    public float Weight(int n, int k) => Source is { } s ? s[SourceOffset + ((long)n * K) + k] : At(n, k) * Scales[n];

    /// <summary>From an int8 weight as stored (Q row-major [N, K], scales [N]); Q must lie in [-127, 127].</summary>
    public static Int8PackedWeight FromInt8(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int n, int k, Int8OutlierPolicy outliers)
    {
        var w = new Int8PackedWeight(n, k, scales[..n].ToArray(), outliers);
        for (var r = 0; r < n; r++)
        {
            w.PackRow(r, q.Slice(r * k, k));
        }
        return w;
    }

    /// <summary>
    /// Quantises an f32 weight [N, K] per output channel exactly as <c>convert --weights-format int8</c> does; with
    /// <paramref name="source"/> (the array <paramref name="values"/> lies in, at <paramref name="sourceOffset"/>, kept
    /// alive by the caller) the outlier columns are multiplied by the f32 weights instead of the dequantised ones.
    /// </summary>
    public static Int8PackedWeight Quantize(ReadOnlySpan<float> values, int n, int k, Int8OutlierPolicy outliers, float[]? source = null, int sourceOffset = 0)
    {
        var w = new Int8PackedWeight(n, k, new float[n], outliers) { Source = source, SourceOffset = sourceOffset };
        var q = new sbyte[k];
        for (var r = 0; r < n; r++)
        {
            w.Scales[r] = WeightQuantization.QuantizeInt8Row(values.Slice(r * k, k), q);
            w.PackRow(r, q);
        }
        return w;
    }

    private long Offset(int n, int k)
    {
        var panel = n / Int8Kernel.PanelWidth;
        var groups = KPadded / 4;
        return ((((long)panel * groups) + (k >> 2)) * Int8Kernel.PanelWidth + (n % Int8Kernel.PanelWidth)) * 4 + (k & 3);
    }

    private void PackRow(int r, ReadOnlySpan<sbyte> row)
    {
        var sum = 0;
        for (var c = 0; c < row.Length; c++)
        {
            var v = row[c];
            if (v == sbyte.MinValue)
            {
                // The AVX2 sign trick and the symmetric format both exclude -128 (see Int8Kernels.cs).
                throw new ArgumentException($"int8 weight row {r} holds -128 at column {c}: symmetric int8 weights lie in [-127, 127]");
            }
            Panels[Offset(r, c)] = v;
            sum += v;
        }
        ColumnSums[r] = sum;
    }
}

/// <summary>
/// LLM.int8()-style outlier split of a linear layer's input: channel c is an outlier in a call when its largest |x| over
/// the call's tokens exceeds <see cref="Ratio"/> times the median of those per-channel maxima; at most
/// <see cref="MaxFraction"/> of the channels (the largest) are taken. Outlier channels are zeroed in the int8 product
/// and added back by an fp32 product with the dequantised weight columns, so one huge channel no longer sets every
/// token's quantisation step. <see cref="Ratio"/> = +inf turns the split off (plain per-token scales).
/// </summary>
internal readonly record struct Int8OutlierPolicy(float Ratio, float MaxFraction)
{
    /// <summary>Ratio 6 (what LLM.int8's absolute threshold of 6 is for unit-scale inputs), at most 1/16 of the channels.</summary>
    public static Int8OutlierPolicy Default => new(6f, 1f / 16);

    /// <summary>No outlier channels: every channel quantised with the token's scale.</summary>
    public static Int8OutlierPolicy None => new(float.PositiveInfinity, 0f);
}
