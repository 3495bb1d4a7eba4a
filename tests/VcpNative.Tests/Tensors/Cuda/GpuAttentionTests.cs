// The fused attention kernels (kernels/attention.cu) on the PTX emulator against CpuBackend's attention kernels.
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;
using VcpNative.Verification;

namespace VcpNative.Tests.Tensors.Cuda;

public class GpuAttentionTests
{
    // fp32 on both sides with different summation orders and ex2/lg2-based exp/log on the GPU: ~1e-6 relative per
    // term; outputs sum up to ~70 weighted terms and gradients chain two such products, hence 1e-4 relative plus a
    // 1e-5 floor for gradients that cancel to ~0.
    private const double Atol = 1e-5;
    private const double Rtol = 1e-4;

    /// <summary>Inputs, outputs and every gradient of one attention call, as host arrays.</summary>
    private sealed record AttentionRun(float[] Output, float[] LogSumExp, float[]? GradQ, float[]? GradK, float[]? GradV);

    private sealed record Problem(int Batch, int Heads, int Lq, int Lk, int D, float Scale, bool Causal, bool Fused);

    public static TheoryData<int, int, int, int, int, bool, bool, bool> Shapes() => new()
    {
        // batch, heads, Lq, Lk, D, scale 1 (else 1/sqrt D), causal, q/k/v as views of a fused qkv tensor
        { 1, 2, 37, 45, 13, false, false, false }, // Lq != Lk, partial 32-key tiles, D not a multiple of 32
        { 1, 2, 37, 45, 13, true, true, false },   // causal with more keys than queries (top-left alignment)
        { 1, 1, 45, 37, 13, false, true, false },  // causal with more queries than keys
        { 2, 1, 2, 37, 13, false, false, false },  // few queries: the split-key kernel
        { 1, 1, 2, 37, 13, true, true, false },    // few queries, causal: row 0 sees one key
        { 1, 1, 9, 33, 64, false, false, false },  // just above the few-query threshold, D = 64 (CLIP)
        { 1, 1, 33, 1, 7, false, false, false },   // a single key
        { 1, 1, 3, 40, 128, true, false, false },  // D = 128, few queries
        { 1, 1, 17, 40, 128, false, true, false }, // D = 128: backward blocks of 16 rows
        { 2, 2, 35, 35, 8, false, true, true },    // strided views of one fused [B, L, 3·H·D] projection
        { 1, 2, 2, 2, 8, true, false, true },      // few queries from a fused projection
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_and_backward_match_the_cpu_kernels(int batch, int heads, int lq, int lk, int d, bool unitScale, bool causal, bool fused)
    {
        // A fused projection has one sequence length: its rows use lk == lq.
        var p = new Problem(batch, heads, lq, lk, d, unitScale ? 1f : 1f / MathF.Sqrt(d), causal, fused);
        var expected = Run(CpuBackend.Instance, p, true, true, true);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var actual = Run(gpu, p, true, true, true);
        AssertClose(expected.Output, actual.Output, "output");
        AssertClose(expected.LogSumExp, actual.LogSumExp, "logsumexp");
        AssertClose(expected.GradQ!, actual.GradQ!, "dq");
        AssertClose(expected.GradK!, actual.GradK!, "dk");
        AssertClose(expected.GradV!, actual.GradV!, "dv");
        Assert.Equal(0, gpu.HostFallbackCalls);
        Assert.Contains(lq <= GpuBackend.AttentionRowsKernelMaxQueries ? "attention_forward_rows" : "attention_forward", gpu.KernelsUsed);
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    [InlineData(false, true, true)]
    public void Only_requested_gradients_are_computed_and_equal_the_full_backward(bool wantQ, bool wantK, bool wantV)
    {
        var p = new Problem(1, 2, 19, 37, 13, 0.3f, true, false);
        using var full = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var all = Run(full, p, true, true, true);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var some = Run(gpu, p, wantQ, wantK, wantV);
        // Bitwise: each gradient element has one owner thread and a fixed summation order whatever else is computed.
        Assert.Equal(wantQ ? all.GradQ : null, some.GradQ);
        Assert.Equal(wantK ? all.GradK : null, some.GradK);
        Assert.Equal(wantV ? all.GradV : null, some.GradV);
        Assert.Equal(wantQ, gpu.KernelsUsed.Contains("attention_backward_dq"));
        Assert.Equal(wantK || wantV, gpu.KernelsUsed.Contains("attention_backward_dkdv"));
    }

    [Fact]
    public void Repeated_runs_are_bitwise_identical()
    {
        var p = new Problem(1, 1, 40, 40, 24, 0.2f, false, false);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var first = Run(gpu, p, true, true, true);
        var second = Run(gpu, p, true, true, true);
        Assert.Equal(first.Output, second.Output);
        Assert.Equal(first.GradQ, second.GradQ);
        Assert.Equal(first.GradK, second.GradK);
        Assert.Equal(first.GradV, second.GradV);
    }

    /// <summary>Forward with logsumexp, then backward of a seeded output gradient, straight on the backend kernels.</summary>
    private static AttentionRun Run(IBackend backend, Problem p, bool wantQ, bool wantK, bool wantV)
    {
        using var scope = new TensorScope();
        var (q, k, v) = AttentionTestInputs.Create(backend, p.Batch, p.Heads, p.Lq, p.Lk, p.D, p.Fused, 70);
        var output = Tensor.Empty(q.Shape, DType.F32, backend);
        var lse = Tensor.Empty(q.Shape[..3], DType.F32, backend);
        backend.AttentionForward(q, k, v, output, lse, p.Scale, p.Causal);
        var gradOutput = KernelVerification.Input(backend, q.ShapeArray, 74);
        var gq = wantQ ? Tensor.Empty(q.Shape, DType.F32, backend) : null;
        var gk = wantK ? Tensor.Empty(k.Shape, DType.F32, backend) : null;
        var gv = wantV ? Tensor.Empty(v.Shape, DType.F32, backend) : null;
        backend.AttentionBackward(q, k, v, output, lse, gradOutput, gq, gk, gv, p.Scale, p.Causal);
        return new AttentionRun(output.ToArray(), lse.ToArray(), gq?.ToArray(), gk?.ToArray(), gv?.ToArray());
    }

    private static void AssertClose(float[] expected, float[] actual, string what) =>
        EmulatorHarness.AssertClose(Array.ConvertAll(expected, x => (double)x), actual, Atol, Rtol, what);
}
