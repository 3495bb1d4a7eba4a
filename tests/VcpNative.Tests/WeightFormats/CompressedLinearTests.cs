// The CPU linear layer on bf16 / int8 weights against the f32 layer on the decoded weights and a float64 reference.
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using VcpNative.Tensors.Cpu;
using VcpNative.Tests.Tensors;
using VcpNative.WeightsConverter.Quantization;
using Xunit;

namespace VcpNative.Tests.WeightFormats;

public class CompressedLinearTests
{
    /// <summary>A weight [n, k] in the requested format plus its decoded f32 values (the reference's weights).</summary>
    private static (Tensor Compressed, float[] Decoded) MakeWeight(LinearWeightFormat format, int n, int k, int seed)
    {
        using var source = TestTensors.Uniform([n, k], seed, -0.3f, 0.3f);
        var values = source.ToArray();
        if (n > 2)
        {
            // An all-zero output channel: int8 scale 0 must give exact zeros, not NaN.
            Array.Clear(values, k, k);
        }
        var decoded = new float[values.Length];
        if (format == LinearWeightFormat.BF16)
        {
            var bits = new ushort[values.Length];
            WeightQuantization.ToBFloat16(values, bits);
            for (var i = 0; i < bits.Length; i++)
            {
                decoded[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
            }
            return (Tensor.WrapBFloat16(bits, [n, k]), decoded);
        }
        var q = new sbyte[values.Length];
        var scales = new float[n];
        for (var r = 0; r < n; r++)
        {
            scales[r] = WeightQuantization.QuantizeInt8Row(values.AsSpan(r * k, k), q.AsSpan(r * k, k));
            for (var c = 0; c < k; c++)
            {
                decoded[(r * k) + c] = q[(r * k) + c] * scales[r];
            }
        }
        return (Tensor.WrapInt8(q, scales, [n, k]), decoded);
    }

    [Theory]
    [InlineData(LinearWeightFormat.BF16, 1, 1, 1, LinearActivation.None, true)]
    [InlineData(LinearWeightFormat.BF16, 7, 13, 5, LinearActivation.Gelu, true)]
    [InlineData(LinearWeightFormat.BF16, 37, 53, 67, LinearActivation.QuickGelu, false)]
    [InlineData(LinearWeightFormat.BF16, 211, 301, 97, LinearActivation.Gelu, true)]   // all threads, K over one 256-deep block
    [InlineData(LinearWeightFormat.Int8, 1, 1, 1, LinearActivation.None, false)]
    [InlineData(LinearWeightFormat.Int8, 7, 13, 5, LinearActivation.None, true)]
    [InlineData(LinearWeightFormat.Int8, 37, 53, 67, LinearActivation.Gelu, true)]
    [InlineData(LinearWeightFormat.Int8, 150, 600, 45, LinearActivation.QuickGelu, true)]
    public void CompressedLinearEqualsF32LinearOnTheDecodedWeights(LinearWeightFormat format, int rows, int k, int n, LinearActivation activation, bool withBias)
    {
        var (weight, decoded) = MakeWeight(format, n, k, 2);
        using var w = weight;
        using var x = TestTensors.Uniform([rows, k], 1);
        using var b = TestTensors.Uniform([n], 3);
        using var wf = Tensor.FromArray(decoded, [n, k]);
        Assert.True(CpuBackend.IsCompressedLinearWeight(w));
        using var noGrad = Tape.NoGrad();
        using var y = Ops.Linear(x, w, withBias ? b : null, activation);
        using var yf = Ops.Linear(x, wf, withBias ? b : null, activation);
        // Exact: the packed B panels hold the decoded f32 values bit for bit and the kernels, blocking and thread split
        // are the same, so the summation order is too. (Any fp32 reordering would show up here as ~1e-6 differences.)
        Assert.Equal(yf.ToArray(), y.ToArray());

        if (activation == LinearActivation.None)
        {
            // Independent float64 reference on the decoded weights: fp32 accumulation over k terms of size <= 0.3.
            var xs = x.ToArray();
            var bs = b.ToArray();
            var want = VcpNative.Tests.Tensors.LinearReference.Compute(xs, decoded, withBias ? bs : null, rows, n, k);
            GradientCheck.AssertClose(want, y.ToArray(), 1e-5 * Math.Sqrt(k), 1e-5);
        }
    }

    [Fact]
    public void EveryKernelAndTinyBlockingGiveTheDecodedProduct()
    {
        const int m = 29, n = 41, k = 23;
        foreach (var format in new[] { LinearWeightFormat.BF16, LinearWeightFormat.Int8 })
        {
            var (weight, decoded) = MakeWeight(format, n, k, 7);
            using var w = weight;
            using var x = TestTensors.Uniform([m, k], 8);
            var xs = x.ToArray();
            foreach (var baseKernel in SgemmKernel.Supported)
            {
                // KC = 5 and two-tile blocks cross every depth, row and column edge of the packing loops.
                var kernel = baseKernel.WithBlocking(5, 2 * baseKernel.Mr, 2 * baseKernel.Nr);
                var got = RunCompressed(kernel, w, xs, m, n, k);
                var want = new float[m * n];
                unsafe
                {
                    fixed (float* a = xs, bw = decoded, c = want)
                    {
                        Sgemm.Multiply(kernel, 1, false, true, m, n, k, 1f, a, k, bw, k, null, 0f, c, n);
                    }
                }
                Assert.True(want.AsSpan().SequenceEqual(got), $"{format} on {kernel.Name}");
            }
        }
    }

    private static unsafe float[] RunCompressed(SgemmKernel kernel, Tensor w, float[] xs, int m, int n, int k)
    {
        var c = new float[m * n];
        var storage = (CpuStorage)w.Storage;
        var int8 = w.DType == DType.I8;
        fixed (float* a = xs, cp = c)
        fixed (ushort* halves = storage.Halves)
        fixed (sbyte* bytes = storage.SBytes)
        fixed (float* scales = int8 ? ((CpuStorage)w.ChannelScales!.Storage).Floats : null)
        {
            Sgemm.MultiplyCompressedWeight(kernel, 1, m, n, k, a, k, int8 ? WeightEncoding.Int8 : WeightEncoding.BFloat16,
                int8 ? bytes : halves, scales, cp, n, GemmEpilogue.None, null);
        }
        return c;
    }

    [Fact]
    public void BackwardThroughACompressedWeightUsesTheDecodedValues()
    {
        // Training with a frozen bf16/int8 CLIP back-propagates into the prompts through these weights.
        foreach (var format in new[] { LinearWeightFormat.BF16, LinearWeightFormat.Int8 })
        {
            var (weight, decoded) = MakeWeight(format, 19, 11, 4);
            using var w = weight;
            using var wf = Tensor.FromArray(decoded, [19, 11]);
            using var x1 = TestTensors.Uniform([5, 11], 6, requiresGrad: true);
            using var x2 = TestTensors.Uniform([5, 11], 6, requiresGrad: true);
            using (var loss = Ops.Sum(Ops.Linear(x1, w, null, LinearActivation.Gelu)))
            {
                loss.Backward();
            }
            using (var loss = Ops.Sum(Ops.Linear(x2, wf, null, LinearActivation.Gelu)))
            {
                loss.Backward();
            }
            // Same decoded matrix, same kernels: identical gradients.
            Assert.Equal(x2.Grad!.ToArray(), x1.Grad!.ToArray());
        }
    }

    [Fact]
    public void AnInt8TensorWithoutScalesCannotBeReadAsF32()
    {
        using var q = Tensor.Empty([3, 4], DType.I8);
        Assert.False(CpuBackend.IsCompressedLinearWeight(q));
        var e = Assert.Throws<InvalidOperationException>(() => q.ToArray());
        Assert.Contains("channel scales", e.Message);
    }
}
