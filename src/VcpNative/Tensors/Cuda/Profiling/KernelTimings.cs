// Kernel-level timings on the ViT-L/14 shapes at 518 px: our tensor-core and SIMT kernels against cuBLAS in the same
// process, timed with the driver's clock (CUDA events on a GPU), each result checked against an fp32 reference.
using VcpNative.Tensors.Autograd;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda.Driver;

namespace VcpNative.Tensors.Cuda.Profiling;

/// <summary>
/// One timed case. GEMMs are the linear-layer layout (x [M,K] times a weight [N,K] transposed); attention is
/// [batch, heads, tokens, head_dim] with M = tokens, N = tokens, K = head_dim. <see cref="Peer"/> is what ours is
/// compared with in the same run (cuBLAS), null when there is none. <see cref="MaxRelativeDiff"/> is
/// max |ours - reference| / max |reference| against an fp32 reference (cuBLAS fp32 on a GPU, the CPU on the emulator).
/// </summary>
public sealed record KernelTimingRow(string Case, string Kernel, string? Peer, int Batch, int M, int N, int K, double Flops,
    double Ms, double? PeerMs, double MaxRelativeDiff, string Note)
{
    /// <summary>Our throughput in TFLOPS.</summary>
    public double Tflops => Flops / (Ms * 1e-3) / 1e12;

    /// <summary>The peer's throughput in TFLOPS; null without a peer.</summary>
    public double? PeerTflops => PeerMs is { } p ? Flops / (p * 1e-3) / 1e12 : null;

    /// <summary>Our speed over the peer's (above 1: ours is faster).</summary>
    public double? Ratio => PeerMs is { } p ? p / Ms : null;
}

/// <summary>What `kernels bench` times.</summary>
/// <param name="BatchSizes">Batch sizes each case runs at.</param>
/// <param name="Iterations">Timed runs per case.</param>
/// <param name="Warmup">Untimed runs before timing.</param>
public sealed record KernelTimingOptions(IReadOnlyList<int> BatchSizes, int Iterations = 10, int Warmup = 2);

/// <summary>Times our GEMM and attention kernels on the ViT-L/14 shapes against cuBLAS in the same run.</summary>
public static class KernelTimings
{
    /// <summary>ViT-L/14 at 518 px: 37 x 37 patches + the class token, width 1024, MLP 4096, 16 heads of 64.</summary>
    public const int Tokens = 1370, Width = 1024, Mlp = 4096, Heads = 16, HeadDim = 64;

    /// <summary>The four linear layers of a ViT-L block: (case, N, K).</summary>
    public static IReadOnlyList<(string Case, int N, int K)> LinearShapes { get; } =
        [("qkv", 3 * Width, Width), ("out_proj", Width, Width), ("fc1", Mlp, Width), ("fc2", Width, Mlp)];

    /// <summary>
    /// Times every case on <paramref name="gpu"/> (cuBLAS peers when it has cuBLAS). On an emulated device the shapes
    /// are a tiny stand-in (rows 37 per batch item, widths 48/32, 2 heads of 16) and the times are host times: this
    /// only proves the code path. <paramref name="progress"/> gets a line per case.
    /// </summary>
    public static IReadOnlyList<KernelTimingRow> Run(GpuBackend gpu, KernelTimingOptions options, Action<string>? progress = null)
    {
        var emulated = gpu.Driver.Device.IsEmulated;
        var rows = new List<KernelTimingRow>();
        var saved = gpu.MatMulPrecision;
        // Our SIMT fp32 kernels need a backend without cuBLAS: a second backend over the same driver, context and stream.
        using var kernelOnly = new GpuBackend(gpu.Driver, ownsDriver: false, useCublas: false);
        try
        {
            using var noGrad = Tape.NoGrad();
            foreach (var b in options.BatchSizes)
            {
                var m = (emulated ? 37 : Tokens) * b;
                foreach (var (name, n0, k0) in LinearShapes)
                {
                    var (n, k) = emulated ? (n0 / Width * 48, k0 / Width * 32) : (n0, k0);
                    rows.AddRange(TimeLinear(gpu, kernelOnly, name, b, m, n, k, options, emulated));
                    progress?.Invoke($"{name} batch {b}: done");
                }
                rows.AddRange(TimeAttention(gpu, b, emulated ? 2 : Heads, emulated ? 37 : Tokens, emulated ? 16 : HeadDim, options, emulated));
                progress?.Invoke($"attention batch {b}: done");
            }
        }
        finally
        {
            gpu.MatMulPrecision = saved;
        }
        return rows;
    }

    private static IEnumerable<KernelTimingRow> TimeLinear(GpuBackend gpu, GpuBackend kernelOnly, string name, int batch, int m, int n, int k,
                                                           KernelTimingOptions o, bool emulated)
    {
        var flops = 2.0 * m * n * k;
        var xData = SeededInputs.Values(m * k, 11, -1f, 1f);
        var wData = SeededInputs.Values(n * k, 12, -0.05f, 0.05f);
        using var scope = new TensorScope();
        var x = Tensor.FromArray(xData, [m, k], gpu);
        var w = Tensor.FromArray(wData, [n, k], gpu);
        var wBf16 = ToDeviceBf16(wData, [n, k], gpu);
        var xKernel = Tensor.FromArray(xData, [m, k], kernelOnly);
        var wKernel = Tensor.FromArray(wData, [n, k], kernelOnly);
        var wKernelBf16 = ToDeviceBf16(wData, [n, k], kernelOnly);

        // The fp32 reference: cuBLAS on a GPU, the CPU where there is none (the emulator) or it is missing.
        float[] reference;
        double? cublasFp32Ms = null;
        gpu.MatMulPrecision = MatMulPrecision.Fp32;
        if (gpu.UsesCublas)
        {
            reference = Ops.Linear(x, w).ToArray();
            cublasFp32Ms = Time(gpu, () => Ops.Linear(x, w), o);
        }
        else
        {
            reference = Ops.Linear(Tensor.FromArray(xData, [m, k]), Tensor.FromArray(wData, [n, k])).ToArray();
        }

        // Ours, bf16 tensor cores with the weight kept in bf16 (gemm_tc_bf16_wb16), as ViT-L runs under --precision bf16
        // --gpu-matmul kernel (with cuBLAS present, bf16 precision uses cuBLAS: the peer row below).
        kernelOnly.MatMulPrecision = MatMulPrecision.Bf16TensorCores;
        var oursBf16 = Ops.Linear(xKernel, wKernelBf16).ToArray();
        var oursBf16Ms = Time(kernelOnly, () => Ops.Linear(xKernel, wKernelBf16), o);
        kernelOnly.MatMulPrecision = MatMulPrecision.Fp32;
        double? cublasBf16Ms = null;
        var note = "";
        if (gpu.CublasForTimings is { } cublas)
        {
            // cuBLAS with bf16 inputs and fp32 accumulation and output: the same arithmetic as gemm_tc.
            var xBf16 = ToDeviceBf16(xData, [m, k], gpu);
            var c = Tensor.Empty([m, n], DType.F32, gpu);
            void CublasBf16() => cublas.GemmStridedBatched(false, true, m, n, k, 1f, gpu.Ptr(xBf16), GemmDataType.BFloat16, k, 0,
                gpu.Ptr(wBf16), GemmDataType.BFloat16, k, 0, 0f, gpu.Ptr(c), GemmDataType.Float32, n, 0, 1, GemmCompute.Float32);
            cublasBf16Ms = Time(gpu, CublasBf16, o);
        }
        else
        {
            note = gpu.CublasUnavailableReason is { } why ? "no cuBLAS peer: " + why : "no cuBLAS peer on this device";
        }
        yield return new KernelTimingRow(name, "gemm_tc_bf16_wb16", cublasBf16Ms is null ? null : "cublas_bf16", batch, m, n, k, flops,
            oursBf16Ms, cublasBf16Ms, MaxRelative(oursBf16, reference), Join(note, emulated ? "emulator: host time, not a GPU time" : ""));
        if (gpu.UsesCublas)
        {
            // What --precision bf16 runs with cuBLAS present: x rounded by narrow_f32_bf16, then cuBLAS bf16.
            gpu.MatMulPrecision = MatMulPrecision.Bf16TensorCores;
            var path = Ops.Linear(x, wBf16).ToArray();
            var pathMs = Time(gpu, () => Ops.Linear(x, wBf16), o);
            gpu.MatMulPrecision = MatMulPrecision.Fp32;
            yield return new KernelTimingRow(name, "narrow_f32_bf16+cublas_bf16", "cublas_bf16", batch, m, n, k, flops,
                pathMs, cublasBf16Ms, MaxRelative(path, reference), "the --precision bf16 path with cuBLAS");
        }

        // Ours, fp32 SIMT: the fused linear kernel our fp32 path runs without cuBLAS (linear_f32).
        var oursFp32 = Ops.Linear(xKernel, wKernel).ToArray();
        var oursFp32Ms = Time(kernelOnly, () => Ops.Linear(xKernel, wKernel), o);
        yield return new KernelTimingRow(name, "linear_f32", cublasFp32Ms is null ? null : "cublas_fp32", batch, m, n, k, flops,
            oursFp32Ms, cublasFp32Ms, MaxRelative(oursFp32, reference), Join(note, emulated ? "emulator: host time, not a GPU time" : ""));
    }

    private static IEnumerable<KernelTimingRow> TimeAttention(GpuBackend gpu, int batch, int heads, int tokens, int headDim, KernelTimingOptions o, bool emulated)
    {
        var flops = 4.0 * batch * heads * tokens * (double)tokens * headDim;
        var count = batch * heads * tokens * headDim;
        using var scope = new TensorScope();
        var data = new[] { SeededInputs.Values(count, 21, -1f, 1f), SeededInputs.Values(count, 22, -1f, 1f), SeededInputs.Values(count, 23, -1f, 1f) };
        int[] shape = [batch, heads, tokens, headDim];
        var q = Tensor.FromArray(data[0], shape, gpu);
        var k = Tensor.FromArray(data[1], shape, gpu);
        var v = Tensor.FromArray(data[2], shape, gpu);
        // Reference: our fp32 kernel on a GPU (verified against the CPU by kernels verify), the CPU on the emulator.
        gpu.MatMulPrecision = MatMulPrecision.Fp32;
        var fp32 = Ops.Attention(q, k, v).ToArray();
        var fp32Ms = Time(gpu, () => Ops.Attention(q, k, v), o);
        var reference = emulated
            ? Ops.Attention(Tensor.FromArray(data[0], shape), Tensor.FromArray(data[1], shape), Tensor.FromArray(data[2], shape)).ToArray()
            : fp32;
        gpu.MatMulPrecision = MatMulPrecision.Bf16TensorCores;
        var tc = Ops.Attention(q, k, v).ToArray();
        var tcMs = Time(gpu, () => Ops.Attention(q, k, v), o);
        gpu.MatMulPrecision = MatMulPrecision.Fp32;
        var note = emulated ? "emulator: host time, not a GPU time" : "peer: torch SDPA in tools/device/torch_kernels.py";
        yield return new KernelTimingRow("attention", "attention_forward_tc_bf16", null, batch, tokens, tokens, headDim, flops, tcMs, null, MaxRelative(tc, reference), note);
        yield return new KernelTimingRow("attention", "attention_forward", null, batch, tokens, tokens, headDim, flops, fp32Ms, null, MaxRelative(fp32, reference), note);
    }

    /// <summary>Mean milliseconds per call over the timed iterations, after the warm-up ones; results are disposed as made.</summary>
    private static double Time(GpuBackend gpu, Action work, KernelTimingOptions o)
    {
        for (var i = 0; i < o.Warmup; i++)
        {
            work();
        }
        var ms = gpu.Driver.TimeMilliseconds(() =>
        {
            for (var i = 0; i < o.Iterations; i++)
            {
                work();
            }
        });
        return ms / o.Iterations;
    }

    private static double Time(GpuBackend gpu, Func<Tensor> op, KernelTimingOptions o) => Time(gpu, () => op().Dispose(), o);

    private static Tensor ToDeviceBf16(float[] values, int[] shape, GpuBackend gpu)
    {
        using var host = Tensor.FromArray(values, shape);
        using var hostBf16 = Tensor.Empty(shape, DType.BF16);
        CpuBackend.Instance.Copy(host, hostBf16);
        var device = Tensor.Empty(shape, DType.BF16, gpu);
        gpu.Copy(hostBf16, device);
        return device;
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : b.Length == 0 ? a : a + "; " + b;

    private static double MaxRelative(float[] got, float[] reference)
    {
        double diff = 0, scale = 0;
        for (var i = 0; i < got.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs((double)got[i] - reference[i]));
            scale = Math.Max(scale, Math.Abs((double)reference[i]));
        }
        return diff / Math.Max(scale, 1e-30);
    }
}
