// The tensor-core attention forward (kernels/attention_tc.cu) on the PTX emulator against CpuBackend and a float64 reference.
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using VcpNative.Tensors.Cuda.Profiling;
using Xunit;

namespace VcpNative.Tests.Tensors.Cuda;

public class GpuAttentionTcTests
{
    // q, k (|x| <= 1.5) and v (|x| <= 1) rounded to bf16 (relative error uniform in +-2^-9), fp32 accumulation: a
    // score moves by scale * sum(dq k + q dk), 2D independent terms of rms 0.75 * 2^-9 / sqrt(3), i.e. rms
    // ~1.2e-3 at scale 1/sqrt(D) for any D (0.05 * sqrt(2D) < sqrt(2) for the explicit scale). At 5 sigma (6e-3) the
    // softmax weights move by <= 0.6% relative and the output (an average of |v| <= 1) by as much, plus 2^-9 from
    // rounding v and P: 1e-2 absolute. The logsumexp moves like a score plus 2^-9 from the rounded P in its sum: 1e-2.
    // Measured: worst 5.5e-3 (output, a causal row that averages a single bf16 v row) and 3.2e-3 (logsumexp).
    private const double OutputAtol = 1e-2;
    private const double LseAtol = 1e-2;

    private sealed record Problem(int Batch, int Heads, int Lq, int Lk, int D, float? Scale, bool Causal, bool Fused);

    private sealed record Forward(float[] Output, float[] LogSumExp, float[] Q, float[] K, float[] V);

    public static TheoryData<int, int, int, int, int, bool, bool, bool> Shapes() => new()
    {
        // batch, heads, Lq, Lk, D, scale 0.05 (else 1/sqrt D), causal, q/k/v as views of a fused qkv tensor
        { 1, 2, 37, 50, 64, false, false, false },  // odd Lq/Lk: partial query block and key tile, float2 loads
        { 1, 1, 37, 50, 64, true, true, false },    // causal with more keys than queries, explicit scale
        { 1, 1, 70, 45, 64, false, true, false },   // causal with more queries than keys: two query blocks
        { 1, 1, 37, 67, 96, false, false, false },  // D = 96 on the 128-wide variant, two key tiles
        { 1, 1, 37, 50, 40, false, true, false },   // D not a multiple of 16 (zero padding)
        { 1, 2, 41, 41, 64, false, false, true },   // strided views of a fused [B, L, 3·H·D] projection
        { 1, 2, 33, 33, 13, false, true, true },    // odd D and odd view strides: the scalar load path
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_the_cpu_within_bf16_rounding(int batch, int heads, int lq, int lk, int d, bool explicitScale, bool causal, bool fused)
    {
        var p = new Problem(batch, heads, lq, lk, d, explicitScale ? 0.05f : null, causal, fused);
        var expected = Run(CpuBackend.Instance, p);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true) { MatMulPrecision = MatMulPrecision.Bf16TensorCores };
        var actual = Run(gpu, p);
        EmulatorHarness.AssertClose(Array.ConvertAll(expected.Output, x => (double)x), actual.Output, OutputAtol, 0, "output");
        EmulatorHarness.AssertClose(Array.ConvertAll(expected.LogSumExp, x => (double)x), actual.LogSumExp, LseAtol, 0, "logsumexp");
        Assert.Contains(d <= 64 ? "attention_forward_tc_bf16" : "attention_forward_tc_bf16_d128", gpu.KernelsUsed);
        Assert.DoesNotContain("attention_forward", gpu.KernelsUsed);
    }

    [Fact]
    public void Error_is_that_of_bf16_inputs_with_fp32_accumulation()
    {
        var p = new Problem(1, 2, 37, 50, 64, null, false, false);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true) { MatMulPrecision = MatMulPrecision.Bf16TensorCores };
        var tc = Run(gpu, p);
        var scale = 1.0 / Math.Sqrt(p.D);
        var exact = Reference(tc, p, scale, x => x);
        var roundedInputs = Reference(tc, p, scale, TensorCoreGemmTests.RoundBf16);
        var output = Array.ConvertAll(tc.Output, x => (double)x);
        double tcError = Rms(output, exact), inputError = Rms(roundedInputs, exact), tcVsRounded = Rms(output, roundedInputs);
        // Measured: rms 2.8e-4 vs exact, 2.4e-4 for the bf16-rounded inputs alone, 1.4e-4 vs the rounded-input
        // reference. The kernel adds less than half again the error that rounding its inputs to bf16 costs (P is
        // rounded too); a coarser format (fp8, 7-bit truncation) or a lost mantissa bit would at least double it.
        Assert.True(tcError <= 1.5 * inputError, $"rms error {tcError:E3} vs {inputError:E3} from bf16 inputs alone");
        // What is left after rounding the inputs the same way (P in bf16, ex2.approx, summation order) is smaller
        // than the input rounding itself: the products are accumulated in fp32, not in bf16.
        Assert.True(tcVsRounded < inputError, $"rms {tcVsRounded:E3} vs the bf16-input reference, {inputError:E3} input rounding");
        // And it does round: an fp32 kernel would sit at ~1e-7 from the exact result, not ~2e-4.
        Assert.True(tcError > 0.5 * inputError, $"rms error {tcError:E3} is far below bf16 rounding ({inputError:E3}): not the bf16 path?");
    }

    [Theory]
    [InlineData(64, "attention_forward_tc_bf16")]
    [InlineData(128, "attention_forward_tc_bf16_d128")]
    public void Profile_counts_exact_tensor_flops_and_no_bank_conflicts(int d, string kernel)
    {
        var target = KernelProfiler.Find("attention_tc");
        // Two heads of 200 tokens run as one head of 128 (2 query blocks x 2 key tiles): scale 2 * 4 * 4 / (2 * 2).
        var report = KernelProfiler.Profile(target, [2, 200, d], GpuSpec.H100);
        Assert.Equal([1, 128, d], report.EmulatedShape);
        Assert.Equal(8.0, report.Scale);
        Assert.Contains(report.Launches, l => l.Kernel == kernel);
        // Q K^T and P V over whole tiles: 2 * 128 * 128 * d flops each, all of it on tensor cores.
        Assert.Equal(4L * 128 * 128 * d, report.Emulated.TensorFlops);
        // The padded K rows, the transposed V stores and every fragment load hit 32 distinct banks.
        Assert.Equal(0, report.Emulated.SharedBankConflictReplays);
        Assert.Equal(0, report.Emulated.DivergentBranches);
    }

    private static double Rms(double[] a, double[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return Math.Sqrt(s / a.Length);
    }

    /// <summary>softmax(scale q k^T) v in float64 over contiguous [B,H,L,D] inputs, each input passed through <paramref name="round"/>.</summary>
    private static double[] Reference(Forward f, Problem p, double scale, Func<double, double> round)
    {
        int bh = p.Batch * p.Heads, d = p.D;
        var o = new double[bh * p.Lq * d];
        var s = new double[p.Lk];
        for (var h = 0; h < bh; h++)
        {
            for (var i = 0; i < p.Lq; i++)
            {
                var max = double.NegativeInfinity;
                var visible = p.Causal ? Math.Min(p.Lk, i + 1) : p.Lk;
                for (var j = 0; j < visible; j++)
                {
                    double dot = 0;
                    for (var c = 0; c < d; c++) dot += round(f.Q[((h * p.Lq) + i) * d + c]) * round(f.K[((h * p.Lk) + j) * d + c]);
                    s[j] = scale * dot;
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (var j = 0; j < visible; j++) sum += s[j] = Math.Exp(s[j] - max);
                for (var c = 0; c < d; c++)
                {
                    double acc = 0;
                    for (var j = 0; j < visible; j++) acc += s[j] * round(f.V[((h * p.Lk) + j) * d + c]);
                    o[((h * p.Lq) + i) * d + c] = acc / sum;
                }
            }
        }
        return o;
    }

    private static Forward Run(IBackend backend, Problem p)
    {
        using var scope = new TensorScope();
        var (q, k, v) = AttentionTestInputs.Create(backend, p.Batch, p.Heads, p.Lq, p.Lk, p.D, p.Fused, 80);
        var output = Tensor.Empty(q.Shape, DType.F32, backend);
        var lse = Tensor.Empty(q.Shape[..3], DType.F32, backend);
        backend.AttentionForward(q, k, v, output, lse, p.Scale ?? 1f / MathF.Sqrt(p.D), p.Causal);
        return new Forward(output.ToArray(), lse.ToArray(), Ops.Contiguous(q).ToArray(), Ops.Contiguous(k).ToArray(), Ops.Contiguous(v).ToArray());
    }
}
