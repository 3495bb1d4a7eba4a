// Verification cases of bf16 weights on the GPU: gemm_tc_bf16_wb16 (B as bf16 bits) and widen_bf16_f32.
namespace VcpNative.Verification;

public static partial class KernelVerification
{
    private static IEnumerable<KernelCase> Bf16WeightCases()
    {
        // fp32 -> bf16 on the device (narrow_f32_bf16: what cuBLAS's bf16 GEMM is fed under bf16 precision), widened back
        // exactly: round to nearest even on both sides, so bit-identical to the CPU's conversion. Values span many
        // binades and include exact ties (1 + 2^-8 rounds to 1, 1 + 3 * 2^-8 to 1 + 2^-6).
        yield return new("copy f32 -> bf16 -> f32 (device)", "[37, 61] + ties", "narrow_f32_bf16, widen_bf16_f32", 0, 0, b =>
        {
            var values = Values(37 * 61, 86, -3f, 3f);
            for (var i = 0; i < values.Length; i++)
            {
                values[i] *= MathF.Pow(2f, (i % 41) - 20);
            }
            values[0] = 1f + (1f / 256f);
            values[1] = 1f + (3f / 256f);
            values[2] = -(1f + (1f / 256f));
            var x = Tensor.FromArray(values, [37, 61], b);
            var narrow = Tensor.Empty([37, 61], DType.BF16, b);
            b.Copy(x, narrow);
            var wide = Tensor.Empty([37, 61], DType.F32, b);
            b.Copy(narrow, wide);
            return [wide];
        });
        // Tolerance as for "matmul bf16 tensor cores": W is bf16-exact on both sides, x is rounded to bf16 on the GPU
        // only (relative error <= 2^-9 per term, K <= 70 terms of |x w| <= 1: rms ~1e-2 at 5 sigma), fp32 accumulation.
        yield return new("linear + matmul, bf16 weight, tensor cores", "x[37,70] . W[45,70]^T + b, GELU; g[37,45] @ W",
            "gemm_tc_bf16_wb16, widen_bf16_f32", 0.07, 1e-2, b => WithTensorCores(b, () =>
            {
                using var noTape = Tape.NoGrad();
                var w = Bf16Input(b, [45, 70], 81);
                return [Ops.Linear(Input(b, [37, 70], 80), w, Input(b, [45], 82), LinearActivation.Gelu), Ops.MatMul(Input(b, [37, 45], 83), w)];
            }));
        // fp32 precision: the BF16 weight is widened exactly on the device, then the fp32 linear kernel runs.
        yield return new("linear, bf16 weight widened (fp32 precision)", "x[33,13] . W[129,13]^T", "widen_bf16_f32, linear_f32", Atol, Rtol, b =>
        {
            using var noTape = Tape.NoGrad();
            return [Ops.Linear(Input(b, [33, 13], 84), Bf16Input(b, [129, 13], 85), null, LinearActivation.QuickGelu)];
        });
    }

    /// <summary>A seeded uniform tensor rounded to bf16 (nearest even) and stored as BF16 on <paramref name="backend"/>.</summary>
    private static Tensor Bf16Input(IBackend backend, int[] shape, int seed)
    {
        var rng = new Random(seed);
        var bits = new ushort[Shapes.Numel(shape)];
        for (var i = 0; i < bits.Length; i++)
        {
            bits[i] = DTypes.SingleToBFloat16(-1f + ((float)rng.NextDouble() * 2f));
        }
        var host = Tensor.WrapBFloat16(bits, shape);
        if (backend is CpuBackend)
        {
            return host;
        }
        var t = Tensor.Empty(shape, DType.BF16, backend);
        backend.Copy(host, t);
        return t;
    }
}
