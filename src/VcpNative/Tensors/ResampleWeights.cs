// Banded 1-D linear operators (resize kernels, reflect-mode Gaussian) as per-output tap tables, shared by every backend.
namespace VcpNative.Tensors;

/// <summary>
/// A 1-D linear map from <see cref="InSize"/> samples to <see cref="OutSize"/> samples where output o reads the
/// contiguous window [Start(o), Start(o) + Count(o)) of the input with double-precision weights. Resize kernels
/// (PyTorch bilinear, PyTorch antialiased bicubic) and scipy's reflect-mode Gaussian are all of this form, so one
/// separable kernel applies them and the transposed table gives their backward pass.
/// </summary>
public sealed class ResampleWeights
{
    private readonly int[] starts;
    private readonly int[] counts;
    private readonly double[] weights;

    private ResampleWeights(int inSize, int outSize, int maxTaps, int[] starts, int[] counts, double[] weights)
    {
        InSize = inSize;
        OutSize = outSize;
        MaxTaps = maxTaps;
        this.starts = starts;
        this.counts = counts;
        this.weights = weights;
    }

    /// <summary>Length of the input axis.</summary>
    public int InSize { get; }

    /// <summary>Length of the output axis.</summary>
    public int OutSize { get; }

    /// <summary>Row length of <see cref="Weights"/>: the widest window.</summary>
    public int MaxTaps { get; }

    /// <summary>First input index read by each output.</summary>
    public ReadOnlySpan<int> Starts => starts;

    /// <summary>Number of input samples read by each output.</summary>
    public ReadOnlySpan<int> Counts => counts;

    /// <summary>[OutSize, MaxTaps] row-major; entries past Count(o) are zero.</summary>
    public ReadOnlySpan<double> Weights => weights;

    /// <summary>Weight of input <paramref name="input"/> in output <paramref name="output"/> (0 outside the window).</summary>
    public double Weight(int output, int input)
    {
        var t = input - starts[output];
        return t >= 0 && t < counts[output] ? weights[(long)output * MaxTaps + t] : 0.0;
    }

    /// <summary>The operator as a dense [OutSize, InSize] matrix (for tests and small problems).</summary>
    public double[] ToDenseMatrix()
    {
        var dense = new double[(long)OutSize * InSize];
        for (var o = 0; o < OutSize; o++)
        {
            for (var t = 0; t < counts[o]; t++)
            {
                dense[(long)o * InSize + starts[o] + t] = weights[(long)o * MaxTaps + t];
            }
        }
        return dense;
    }

    /// <summary>The adjoint map (OutSize → InSize); applying it is the backward pass of applying this one.</summary>
    public ResampleWeights Transpose()
    {
        // Windows of these kernels move monotonically, so the outputs that read input i form a contiguous range.
        var first = new int[InSize];
        var last = new int[InSize];
        Array.Fill(first, int.MaxValue);
        Array.Fill(last, -1);
        for (var o = 0; o < OutSize; o++)
        {
            for (var t = 0; t < counts[o]; t++)
            {
                var i = starts[o] + t;
                first[i] = Math.Min(first[i], o);
                last[i] = Math.Max(last[i], o);
            }
        }
        var maxTaps = 1;
        for (var i = 0; i < InSize; i++)
        {
            if (last[i] < 0)
            {
                first[i] = 0;
                last[i] = -1;
            }
            maxTaps = Math.Max(maxTaps, last[i] - first[i] + 1);
        }
        var tCounts = new int[InSize];
        var tWeights = new double[(long)InSize * maxTaps];
        for (var i = 0; i < InSize; i++)
        {
            tCounts[i] = last[i] - first[i] + 1;
        }
        for (var o = 0; o < OutSize; o++)
        {
            for (var t = 0; t < counts[o]; t++)
            {
                var i = starts[o] + t;
                tWeights[(long)i * maxTaps + (o - first[i])] += weights[(long)o * MaxTaps + t];
            }
        }
        return new ResampleWeights(OutSize, InSize, maxTaps, first, tCounts, tWeights);
    }

    /// <summary>
    /// PyTorch <c>F.interpolate(mode='bilinear')</c> along one axis. align_corners=false: src = (o+0.5)·in/out − 0.5
    /// clamped at 0; align_corners=true: src = o·(in−1)/(out−1). Taps floor(src) and the next one (clamped to the
    /// last input), weights 1−t and t. Index arithmetic is float32, as PyTorch's CPU kernel for float tensors.
    /// </summary>
    public static ResampleWeights Bilinear(int inSize, int outSize, bool alignCorners)
    {
        CheckSizes("bilinear", inSize, outSize);
        var builder = new Builder(inSize, outSize, 2);
        var scale = alignCorners
            ? (outSize > 1 ? (float)(inSize - 1) / (outSize - 1) : 0f)
            : (float)inSize / outSize;
        for (var o = 0; o < outSize; o++)
        {
            var src = alignCorners ? scale * o : MathF.Max(scale * (o + 0.5f) - 0.5f, 0f);
            var i0 = Math.Min((int)src, inSize - 1);
            var i1 = i0 < inSize - 1 ? i0 + 1 : i0;
            var t = src - i0;
            builder.Add(o, i0, 1.0 - t);
            builder.Add(o, i1, t);
        }
        return builder.Build();
    }

    /// <summary>
    /// PyTorch <c>F.interpolate(mode='bicubic', antialias=True, align_corners=False)</c> along one axis: Pillow's
    /// cubic kernel (a = −0.5) with support 2·max(in/out, 1), window clipped to the input and weights renormalised.
    /// </summary>
    public static ResampleWeights BicubicAntialias(int inSize, int outSize)
    {
        CheckSizes("bicubic_antialias", inSize, outSize);
        var scale = (double)inSize / outSize;
        var support = scale >= 1.0 ? 2.0 * scale : 2.0;
        var invScale = scale >= 1.0 ? 1.0 / scale : 1.0;
        var maxTaps = (int)Math.Ceiling(support) * 2 + 1;
        var builder = new Builder(inSize, outSize, maxTaps);
        Span<double> w = stackalloc double[maxTaps];
        for (var o = 0; o < outSize; o++)
        {
            var center = scale * (o + 0.5);
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize);
            var total = 0.0;
            for (var j = xmin; j < xmax; j++)
            {
                w[j - xmin] = CubicKernelAMinusHalf((j - center + 0.5) * invScale);
                total += w[j - xmin];
            }
            for (var j = xmin; j < xmax; j++)
            {
                builder.Add(o, j, total != 0.0 ? w[j - xmin] / total : 0.0);
            }
        }
        return builder.Build();
    }

    /// <summary>
    /// scipy <c>ndimage.gaussian_filter1d(mode='reflect')</c> as a size → size operator: taps exp(−x²/(2σ²)) over
    /// [−r, r] with r = (int)(truncate·σ + 0.5), normalised, and indices folded half-sample symmetrically
    /// (d c b a | a b c d | d c b a), repeatedly when r exceeds the size.
    /// </summary>
    public static ResampleWeights GaussianReflect(int size, double sigma, double truncate = 4.0)
    {
        CheckSizes("gaussian", size, size);
        if (!(sigma > 0) || !(truncate >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), $"gaussian: sigma must be > 0 and truncate >= 0, got sigma {sigma}, truncate {truncate}");
        }
        var radius = (int)(truncate * sigma + 0.5);
        var kernel = new double[2 * radius + 1];
        var sum = 0.0;
        for (var k = -radius; k <= radius; k++)
        {
            kernel[k + radius] = Math.Exp(-0.5 / (sigma * sigma) * k * k);
            sum += kernel[k + radius];
        }
        var builder = new Builder(size, size, Math.Min(2 * radius + 1, size));
        var period = 2L * size;
        for (var o = 0; o < size; o++)
        {
            for (var k = -radius; k <= radius; k++)
            {
                var m = (int)((((o + (long)k) % period) + period) % period);
                if (m >= size)
                {
                    m = (int)(period - 1 - m);
                }
                builder.Add(o, m, kernel[k + radius] / sum);
            }
        }
        return builder.Build();
    }

    private static double CubicKernelAMinusHalf(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0)
        {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
        }
        return x < 2.0 ? (((x - 5.0) * x + 8.0) * x - 4.0) * a : 0.0;
    }

    private static void CheckSizes(string kernel, int inSize, int outSize)
    {
        if (inSize < 1 || outSize < 1)
        {
            throw new ShapeMismatchException(kernel, $"sizes must be >= 1, got input {inSize}, output {outSize}");
        }
    }

    /// <summary>Accumulates (output, input, weight) triples one output row at a time; repeated inputs add up.</summary>
    private sealed class Builder
    {
        private readonly int inSize;
        private readonly int outSize;
        private readonly double[] row;
        private readonly int[] starts;
        private readonly double[][] rows;
        private int current = -1;
        private int lo;
        private int hi;

        public Builder(int inSize, int outSize, int expectedTaps)
        {
            this.inSize = inSize;
            this.outSize = outSize;
            _ = expectedTaps;
            row = new double[inSize];
            starts = new int[outSize];
            rows = new double[outSize][];
        }

        /// <summary>Adds to output <paramref name="output"/>; outputs must come in increasing order.</summary>
        public void Add(int output, int input, double weight)
        {
            if (output != current)
            {
                Flush();
                current = output;
                lo = int.MaxValue;
                hi = -1;
            }
            row[input] += weight;
            lo = Math.Min(lo, input);
            hi = Math.Max(hi, input);
        }

        public ResampleWeights Build()
        {
            Flush();
            var counts = new int[outSize];
            var maxTaps = 1;
            for (var o = 0; o < outSize; o++)
            {
                counts[o] = rows[o]?.Length ?? 0;
                maxTaps = Math.Max(maxTaps, counts[o]);
            }
            var weights = new double[(long)outSize * maxTaps];
            for (var o = 0; o < outSize; o++)
            {
                rows[o]?.CopyTo(weights, (long)o * maxTaps);
            }
            return new ResampleWeights(inSize, outSize, maxTaps, starts, counts, weights);
        }

        private void Flush()
        {
            if (current < 0)
            {
                return;
            }
            // Trim exact zeros at both ends (e.g. a bilinear tap with t = 0) so windows stay tight.
            var a = lo;
            var b = hi;
            while (a <= b && row[a] == 0.0)
            {
                a++;
            }
            while (b >= a && row[b] == 0.0)
            {
                b--;
            }
            starts[current] = a <= b ? a : 0;
            rows[current] = a <= b ? row.AsSpan(a, b - a + 1).ToArray() : [];
            row.AsSpan(lo, hi - lo + 1).Clear();
        }
    }
}
