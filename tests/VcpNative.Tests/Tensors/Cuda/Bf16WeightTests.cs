// bf16 weights on the GPU: gemm_tc_bf16_wb16 against float64 and against gemm_tc_bf16, the linear layer and its input
// gradient on BF16 weights, loading (ParameterSet) and whole VCP inference / training with --precision bf16.
using System.Runtime.InteropServices;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Models;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using VcpNative.WeightsConverter.Clip;
using VcpNative.WeightsConverter.Quantization;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Tensors.Cuda;

public class Bf16WeightTests
{
    private readonly ITestOutputHelper output;

    public Bf16WeightTests(ITestOutputHelper output) => this.output = output;

    /// <summary>fp32 values rounded to bf16 (nearest even), as bits and as the exact fp32 values of those bits.</summary>
    private static (ushort[] Bits, float[] Values) Bf16(float[] source)
    {
        var bits = new ushort[source.Length];
        WeightQuantization.ToBFloat16(source, bits);
        var values = Array.ConvertAll(bits, b => BitConverter.UInt32BitsToSingle((uint)b << 16));
        for (var i = 0; i < source.Length; i++)
        {
            // Independent check of the encoder against the scaling reference of TensorCoreGemmTests.
            Assert.Equal(TensorCoreGemmTests.RoundBf16(source[i]), values[i]);
        }
        return (bits, values);
    }

    private static DevicePtr UploadBits(EmulatorHarness h, ushort[] bits)
    {
        var p = h.Gpu.Allocate(bits.Length * 2L);
        h.Gpu.CopyToDevice(p, MemoryMarshal.AsBytes(bits.AsSpan()));
        return p;
    }

    [Theory]
    // m, n, k, transA, transB, batch, ldb padding, ldc padding
    [InlineData(37, 70, 45, 0, 1, 2, 0, 2)]   // k contiguous, ldb = 45 odd: 16-bit loads; batch 1 starts 2 bytes off
    [InlineData(70, 9, 40, 1, 1, 1, 2, 1)]    // k contiguous, ldb = 42: whole 32-bit words
    [InlineData(19, 66, 33, 0, 1, 1, 1, 0)]   // k contiguous, ldb = 34: words plus the odd tail of k
    [InlineData(24, 72, 31, 1, 0, 2, 2, 1)]   // rows contiguous (x @ W with W [K, N])
    [InlineData(67, 45, 70, 0, 0, 1, 0, 0)]
    public void Bf16_b_gemm_matches_a_double_reference_and_the_fp32_b_kernel_bit_for_bit(
        int m, int n, int k, int transA, int transB, int batch, int ldbPad, int ldcPad)
    {
        using var h = new EmulatorHarness();
        int lda = transA == 0 ? k + 1 : m + 2, ldb = (transB == 0 ? n : k) + ldbPad, ldc = n + ldcPad;
        long strideA = (long)(transA == 0 ? m : k) * lda, strideB = (long)(transB == 0 ? k : n) * ldb, strideC = (long)m * ldc;
        var a = EmulatorHarness.Random((int)(strideA * batch), 31);
        var (bBits, b) = Bf16(EmulatorHarness.Random((int)(strideB * batch), 32));
        var c0 = EmulatorHarness.Random((int)(strideC * batch), 33);
        const float alpha = 0.75f, beta = -0.5f;
        var grid = new Dim3(EmulatorHarness.Blocks(n, 64), EmulatorHarness.Blocks(m, 64), (uint)batch);
        float[] Run(string entry, DevicePtr pb)
        {
            var pc = h.Upload(c0);
            h.Launch("gemm_tc", entry, grid, new Dim3(128), pc, h.Upload(a), pb, m, n, k, lda, ldb, ldc, transA, transB, alpha, beta,
                strideA, strideB, strideC);
            return h.Download(pc, (int)(strideC * batch));
        }
        var wb16 = Run("gemm_tc_bf16_wb16", UploadBits(h, bBits));
        var fp32 = Run("gemm_tc_bf16", h.Upload(b));
        // The fp32-B kernel rounds bf16-exact values to the same bits and sums in the same order: identical results.
        for (var i = 0; i < wb16.Length; i++)
        {
            Assert.True(BitConverter.SingleToUInt32Bits(wb16[i]) == BitConverter.SingleToUInt32Bits(fp32[i]), $"element {i}: wb16 {wb16[i]:R}, fp32-B {fp32[i]:R}");
        }
        // b holds bf16-exact values, so rounding it again in the reference changes nothing.
        var expected = TensorCoreGemmTests.BatchedReference(a, b, c0, m, n, k, lda, ldb, ldc, transA, transB, strideA, strideB, strideC, batch, alpha, beta);
        // bf16 products are exact in fp32; only fp32 accumulation (<= 5 mma k16 steps, terms <= 1) and the epilogue differ.
        EmulatorHarness.AssertClose(expected, wb16, 1e-5, 1e-5, $"gemm_tc_bf16_wb16 {m}x{n}x{k} ta={transA} tb={transB}");
    }

    /// <summary>A BF16 tensor on <paramref name="backend"/> holding <paramref name="bits"/>.</summary>
    private static Tensor Bf16Tensor(ushort[] bits, int[] shape, IBackend backend)
    {
        using var host = Tensor.WrapBFloat16(bits, shape);
        var t = Tensor.Empty(shape, DType.BF16, backend);
        backend.Copy(host, t);
        return t;
    }

    [Fact]
    public void Linear_on_a_bf16_weight_fuses_bias_and_gelu_and_back_propagates_to_the_input()
    {
        const int rows = 33, k = 70, n = 45;
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true) { MatMulPrecision = MatMulPrecision.Bf16TensorCores };
        using var scope = new TensorScope();
        var x = EmulatorHarness.Random(rows * k, 41);
        var (wBits, w) = Bf16(EmulatorHarness.Random(n * k, 42, 0.3f));
        var bias = EmulatorHarness.Random(n, 43);
        var weight = Bf16Tensor(wBits, [n, k], gpu);
        var biasT = Tensor.FromArray(bias, [n], gpu);
        float[] y;
        using (Tape.NoGrad())
        {
            y = Ops.Linear(Tensor.FromArray(x, [rows, k], gpu), weight, biasT, LinearActivation.Gelu).ToArray();
            // The same values as an F32 weight go through gemm_tc_bf16, which rounds them to the same bits: identical.
            var yF32 = Ops.Linear(Tensor.FromArray(x, [rows, k], gpu), Tensor.FromArray(w, [n, k], gpu), biasT, LinearActivation.Gelu).ToArray();
            Assert.Equal(yF32, y);
        }
        var expected = new double[rows * n];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = bias[j];
                for (var p = 0; p < k; p++) sum += TensorCoreGemmTests.RoundBf16(x[(i * k) + p]) * w[(j * k) + p];
                expected[(i * n) + j] = 0.5 * sum * (1 + CoreOpsTests.Erf(sum / Math.Sqrt(2)));
            }
        }
        // fp32 accumulation of bf16-exact products (5 k16 steps, |sum| <= ~4) and the kernel's erf (~1.5e-7 absolute).
        EmulatorHarness.AssertClose(expected, y, 2e-5, 1e-5, "linear bf16 weight + bias + GELU");
        Assert.Contains("gemm_tc_bf16_wb16", gpu.KernelsUsed);

        // Input gradient dx = g W: the weight is B in the rows-contiguous layout of gemm_tc_bf16_wb16.
        var xt = Tensor.FromArray(x, [rows, k], gpu);
        xt.RequiresGrad = true;
        var g = EmulatorHarness.Random(rows * n, 44);
        Ops.Sum(Ops.Mul(Ops.Linear(xt, weight, biasT), Tensor.FromArray(g, [rows, n], gpu))).Backward();
        var dx = xt.Grad!.ToArray();
        var dxExpected = new double[rows * k];
        for (var i = 0; i < rows; i++)
        {
            for (var p = 0; p < k; p++)
            {
                double sum = 0;
                for (var j = 0; j < n; j++) sum += TensorCoreGemmTests.RoundBf16(g[(i * n) + j]) * w[(j * k) + p];
                dxExpected[(i * k) + p] = sum;
            }
        }
        // Same bound: bf16-exact products, fp32 sums over 45 terms (3 k16 steps).
        EmulatorHarness.AssertClose(dxExpected, dx, 1e-5, 1e-5, "dx = g W with a bf16 W");

        // Back to fp32 precision: the BF16 weight is widened on the device (widen_bf16_f32), and the product is fp32.
        gpu.MatMulPrecision = MatMulPrecision.Fp32;
        using (Tape.NoGrad())
        {
            var yFp32 = Ops.Linear(Tensor.FromArray(x, [rows, k], gpu), weight, biasT, LinearActivation.None).ToArray();
            var exact = new double[rows * n];
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    double sum = bias[j];
                    for (var p = 0; p < k; p++) sum += (double)x[(i * k) + p] * w[(j * k) + p];
                    exact[(i * n) + j] = sum;
                }
            }
            // fp32 SIMT GEMM over 70 terms of |x w| <= 0.3 against float64: a few ulp of |sum| <= ~4.
            EmulatorHarness.AssertClose(exact, yFp32, 1e-5, 1e-5, "linear, bf16 weight widened for fp32 precision");
        }
        Assert.Contains("widen_bf16_f32", gpu.KernelsUsed);
        Assert.Equal(0, gpu.HostFallbackCalls);
    }

    [Fact]
    public void Loading_with_bf16_tensor_cores_keeps_the_block_linear_weights_in_bf16_on_the_device()
    {
        var path = Fixtures.Path("clip", "tiny_clip.pt");
        using var cpuSet = ParameterSet.Load(path);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true) { MatMulPrecision = MatMulPrecision.Bf16TensorCores };
        using var fp32Gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        using var bf16Set = ParameterSet.Load(path, gpu);
        using var fp32Set = ParameterSet.Load(path, fp32Gpu);
        var linear = 0;
        foreach (var name in cpuSet.Names)
        {
            Assert.True(bf16Set.TryGet(name, out var t));
            var cpu = cpuSet.Get(name).ToArray();
            var isLinear = cpuSet.Get(name).Rank == 2 && ClipWeightNames.IsBlockLinearWeight(name);
            Assert.Equal(isLinear ? DType.BF16 : DType.F32, t.DType);
            Assert.Equal(DType.F32, fp32Set.Get(name).DType);
            // Downloading widens on the device; the values are the host encoder's round-to-nearest-even of the file's values.
            var expected = isLinear ? Bf16(cpu).Values : cpu;
            Assert.Equal(expected, t.ToArray());
            linear += isLinear ? 1 : 0;
        }
        Assert.True(linear >= 8, $"{linear} block linear weights");
        Assert.Equal(0, gpu.HostFallbackCalls);
        // Device bytes of the weights (element size x count): measured on the tiny model, reported for the README.
        output.WriteLine($"tiny_clip weights on the device: fp32 {fp32Set.StorageBytes} B, bf16 linear {bf16Set.StorageBytes} B");
        Assert.True(bf16Set.StorageBytes < fp32Set.StorageBytes);
    }

    private static AnomalyImageResult RunVcp(GpuBackend gpu, bool bf16BeforeLoading)
    {
        const int size = 28;
        var data = ClipPreprocess.ToTensorData(ImageDecoder.DecodeRgb(Fixtures.Path("vcp", "input.png")), size);
        gpu.MatMulPrecision = bf16BeforeLoading ? MatMulPrecision.Bf16TensorCores : MatMulPrecision.Fp32;
        using var model = VcpModel.Load(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth"), gpu);
        Assert.Equal(bf16BeforeLoading ? DType.BF16 : DType.F32, model.Clip.Parameters.Get("visual.transformer.resblocks.0.mlp.c_fc.weight").DType);
        gpu.MatMulPrecision = MatMulPrecision.Bf16TensorCores;
        using var scope = new TensorScope();
        return new VcpInference(model, size).Run(Tensor.FromArray(data, [1, 3, size, size], gpu))[0];
    }

    [Fact]
    public void Vcp_inference_with_bf16_weights_equals_the_bf16_path_with_f32_weights()
    {
        using var withBf16 = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        using var withF32 = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var actual = RunVcp(withBf16, bf16BeforeLoading: true);
        var expected = RunVcp(withF32, bf16BeforeLoading: false);
        // Same rounding (host nearest-even at load vs cvt.rn in the kernel) and the same summation order: identical maps.
        Assert.Equal(expected.Map, actual.Map);
        Assert.Equal(expected.Score, actual.Score);
        Assert.Contains("gemm_tc_bf16_wb16", withBf16.KernelsUsed);
        Assert.Equal(0, withBf16.HostFallbackCalls);
    }

    [Fact]
    public void A_training_step_with_bf16_weights_equals_the_one_with_f32_weights_under_bf16_precision()
    {
        using var withBf16 = new GpuBackend(new PtxEmulator(), ownsDriver: true) { MatMulPrecision = MatMulPrecision.Bf16TensorCores };
        var actual = GpuTrainingStepTests.Run(withBf16);
        using var withF32 = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var expected = GpuTrainingStepTests.Run(withF32, () => withF32.MatMulPrecision = MatMulPrecision.Bf16TensorCores);
        // Same bf16 values and kernels (gemm_tc_bf16 rounds the f32 weights to the bits gemm_tc_bf16_wb16 reads): identical.
        output.WriteLine($"loss bf16 weights {actual.Loss:G9}, f32 weights {expected.Loss:G9}");
        Assert.Equal(expected.Loss, actual.Loss);
        foreach (var (name, want) in expected.Gradients)
        {
            Assert.Equal(want, actual.Gradients[name]);
        }
        foreach (var (name, want) in expected.After)
        {
            Assert.Equal(want, actual.After[name]);
        }
        Assert.Contains("gemm_tc_bf16_wb16", withBf16.KernelsUsed);
    }
}
