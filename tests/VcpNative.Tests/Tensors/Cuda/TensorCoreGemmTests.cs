// mma.sync.m16n8k16 bf16 in the emulator (one instruction against a scalar reference) and the gemm_tc_bf16 kernel.
using System.Runtime.InteropServices;
using VcpNative.Tensors;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;

namespace VcpNative.Tests.Tensors.Cuda;

public class TensorCoreGemmTests
{
    /// <summary>Round to bf16 (8 significant bits, nearest even) by scaling, independently of the kernel's bit trick.</summary>
    internal static double RoundBf16(double x)
    {
        if (x == 0)
        {
            return 0;
        }
        var quantum = Math.Pow(2, Math.Floor(Math.Log2(Math.Abs(x))) - 7);
        return Math.Round(x / quantum, MidpointRounding.ToEven) * quantum;
    }

    private static ushort Bf16Bits(double exactBf16) => (ushort)(BitConverter.SingleToUInt32Bits((float)exactBf16) >> 16);

    [Fact]
    public void Single_mma_matches_a_scalar_reference_with_the_ptx_isa_fragment_layouts()
    {
        var rng = new Random(5);
        // Values k/16 with |k| <= 40 have at most 6 significant bits: exact in bf16, and all sums are exact in fp32.
        double Value() => rng.Next(-40, 41) / 16.0;
        var a = new double[16, 16];
        var b = new double[16, 8];
        var c = new double[16, 8];
        for (var i = 0; i < 16; i++)
        {
            for (var k = 0; k < 16; k++) a[i, k] = Value();
        }
        for (var k = 0; k < 16; k++)
        {
            for (var j = 0; j < 8; j++) b[k, j] = Value();
        }
        for (var i = 0; i < 16; i++)
        {
            for (var j = 0; j < 8; j++) c[i, j] = Value();
        }
        // Fragments per the PTX ISA ("Matrix Fragments for mma.m16n8k16 with floating point type"):
        // groupID = lane >> 2, tig = lane % 4; A: row groupID (+8 for a2,a3,a6,a7), col 2 tig + (i & 1) (+8 for i >= 4);
        // B: row 2 tig + (i & 1) (+8 for i >= 2), col groupID; C: row groupID (+8 for c2,c3), col 2 tig + (i & 1).
        var fa = new uint[32 * 4];
        var fb = new uint[32 * 2];
        var fc = new float[32 * 4];
        for (var lane = 0; lane < 32; lane++)
        {
            int g = lane >> 2, t = lane & 3;
            for (var i = 0; i < 8; i++)
            {
                var row = g + (i is 2 or 3 or 6 or 7 ? 8 : 0);
                var col = (2 * t) + (i & 1) + (i >= 4 ? 8 : 0);
                fa[(lane * 4) + (i / 2)] |= (uint)Bf16Bits(a[row, col]) << (16 * (i & 1));
            }
            for (var i = 0; i < 4; i++)
            {
                var row = (2 * t) + (i & 1) + (i >= 2 ? 8 : 0);
                fb[(lane * 2) + (i / 2)] |= (uint)Bf16Bits(b[row, g]) << (16 * (i & 1));
            }
            for (var i = 0; i < 4; i++) fc[(lane * 4) + i] = (float)c[g + (i >= 2 ? 8 : 0), (2 * t) + (i & 1)];
        }
        using var gpu = new PtxEmulator();
        DevicePtr Upload<T>(T[] data) where T : struct
        {
            var bytes = MemoryMarshal.AsBytes(data.AsSpan());
            var p = gpu.Allocate(bytes.Length);
            gpu.CopyToDevice(p, bytes);
            return p;
        }
        var pa = Upload(fa);
        var pb = Upload(fb);
        var pc = Upload(fc);
        var pd = gpu.Allocate(32 * 4 * 4);
        gpu.Launch(gpu.GetFunction(gpu.LoadModule(EmulatorSanitizerTests.TestPtx("mma_single")), "mma_single"),
                   new Dim3(1), new Dim3(32), 0, [pd, pa, pb, pc]);
        var d = new float[32 * 4];
        gpu.CopyToHost(pd, MemoryMarshal.AsBytes(d.AsSpan()));
        for (var lane = 0; lane < 32; lane++)
        {
            int g = lane >> 2, t = lane & 3;
            for (var i = 0; i < 4; i++)
            {
                int row = g + (i >= 2 ? 8 : 0), col = (2 * t) + (i & 1);
                var expected = c[row, col];
                for (var k = 0; k < 16; k++) expected += a[row, k] * b[k, col];
                // Exact: every product and partial sum is a multiple of 1/256 below 2^12.
                Assert.Equal(expected, d[(lane * 4) + i]);
            }
        }
    }

    [Theory]
    [InlineData(67, 71, 45, false, false)]
    [InlineData(33, 17, 70, true, false)]
    [InlineData(20, 130, 37, false, true)]
    [InlineData(64, 64, 96, true, true)]
    public void Tensor_core_gemm_matches_a_double_reference_on_bf16_rounded_inputs(int m, int n, int k, bool transA, bool transB)
    {
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true) { MatMulPrecision = MatMulPrecision.Bf16TensorCores };
        using var scope = new TensorScope();
        var aShape = transA ? new[] { k, m } : new[] { m, k };
        var bShape = transB ? new[] { n, k } : new[] { k, n };
        var a = EmulatorHarness.Random(m * k, 1);
        var b = EmulatorHarness.Random(k * n, 2);
        var c = Ops.MatMul(Tensor.FromArray(a, aShape, gpu), Tensor.FromArray(b, bShape, gpu), transA, transB).ToArray();
        var expected = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = 0;
                for (var kk = 0; kk < k; kk++)
                {
                    var av = a[transA ? (kk * m) + i : (i * k) + kk];
                    var bv = b[transB ? (j * k) + kk : (kk * n) + j];
                    sum += RoundBf16(av) * RoundBf16(bv);
                }
                expected[(i * n) + j] = sum;
            }
        }
        // Same bf16 inputs, so only fp32 accumulation differs: one rounding per mma k16 step (<= 7 steps, terms <= 1).
        EmulatorHarness.AssertClose(expected, c, 1e-5, 1e-5, $"gemm_tc {m}x{n}x{k} transA={transA} transB={transB}");
    }

    [Theory]
    [InlineData(37, 70, 45, 0, 0, 2, 2)]
    [InlineData(19, 66, 33, 1, 0, 1, 1)]
    [InlineData(70, 9, 40, 0, 1, 1, 1)]
    [InlineData(24, 72, 31, 1, 1, 2, 1)]
    public void Tensor_core_gemm_honours_leading_dims_alpha_beta_and_batches(int m, int n, int k, int transA, int transB, int batch, int ldcPad)
    {
        // Padded leading dims: an odd ldc makes every other row's float pairs misaligned (scalar epilogue path), an even
        // one keeps them aligned (8-byte path), odd n leaves a half-out-of-range pair; C's padding columns must stay untouched.
        using var h = new EmulatorHarness();
        int lda = transA == 0 ? k + 1 : m + 2, ldb = transB == 0 ? n + 2 : k + 3, ldc = n + ldcPad;
        long strideA = (long)(transA == 0 ? m : k) * lda, strideB = (long)(transB == 0 ? k : n) * ldb, strideC = (long)m * ldc;
        var a = EmulatorHarness.Random((int)(strideA * batch), 21);
        var b = EmulatorHarness.Random((int)(strideB * batch), 22);
        var c0 = EmulatorHarness.Random((int)(strideC * batch), 23);
        const float alpha = 0.75f, beta = -0.5f;
        DevicePtr pa = h.Upload(a), pb = h.Upload(b), pc = h.Upload(c0);
        h.Launch("gemm_tc", "gemm_tc_bf16", new Dim3(EmulatorHarness.Blocks(n, 64), EmulatorHarness.Blocks(m, 64), (uint)batch), new Dim3(128),
                 pc, pa, pb, m, n, k, lda, ldb, ldc, transA, transB, alpha, beta, strideA, strideB, strideC);
        var expected = BatchedReference(a, b, c0, m, n, k, lda, ldb, ldc, transA, transB, strideA, strideB, strideC, batch, alpha, beta);
        // Same bf16-rounded inputs: only fp32 accumulation (<= 5 mma k16 steps, terms <= 1) and the fp32 epilogue differ.
        EmulatorHarness.AssertClose(expected, h.Download(pc, (int)(strideC * batch)), 1e-5, 1e-5, $"gemm_tc {m}x{n}x{k} ta={transA} tb={transB}");
    }

    /// <summary>
    /// Float64 reference of the batched tensor-core GEMM contract on bf16-rounded inputs: C[z] = alpha op(A[z]) op(B[z]) +
    /// beta C0[z], columns of C past n (row padding up to ldc) left as in C0.
    /// </summary>
    internal static double[] BatchedReference(float[] a, float[] b, float[] c0, int m, int n, int k, int lda, int ldb, int ldc,
        int transA, int transB, long strideA, long strideB, long strideC, int batch, float alpha, float beta)
    {
        var expected = new double[strideC * batch];
        for (var z = 0; z < batch; z++)
        {
            for (var i = 0; i < m; i++)
            {
                for (var j = 0; j < ldc; j++)
                {
                    var ci = (z * strideC) + ((long)i * ldc) + j;
                    if (j >= n)
                    {
                        expected[ci] = c0[ci];
                        continue;
                    }
                    double sum = 0;
                    for (var p = 0; p < k; p++)
                    {
                        double av = transA == 0 ? a[(z * strideA) + ((long)i * lda) + p] : a[(z * strideA) + ((long)p * lda) + i];
                        double bv = transB == 0 ? b[(z * strideB) + ((long)p * ldb) + j] : b[(z * strideB) + ((long)j * ldb) + p];
                        sum += RoundBf16(av) * RoundBf16(bv);
                    }
                    expected[ci] = (alpha * sum) + (beta * c0[ci]);
                }
            }
        }
        return expected;
    }
}
