// The table of kernel-backed ops that `kernels verify` and the emulator tests run on a GPU backend and on the CPU.
namespace VcpNative.Verification;

/// <summary>One check: an op (forward and, where it has one, backward) on inputs of a given shape.</summary>
/// <param name="Op">What runs, e.g. "layernorm fwd+bwd".</param>
/// <param name="Kernels">The __global__ kernels the GPU backend launches for it.</param>
/// <param name="Atol">Absolute tolerance of |gpu - cpu|.</param>
/// <param name="Rtol">Relative tolerance (times |cpu|).</param>
/// <param name="Run">Builds seeded inputs on a backend, runs the op and returns the tensors to compare.</param>
public sealed record KernelCase(string Op, string Shape, string Kernels, double Atol, double Rtol, Func<IBackend, Tensor[]> Run);

/// <summary>The outcome of one <see cref="KernelCase"/>: the worst element, and whether every element was in tolerance.</summary>
public sealed record KernelCaseResult(KernelCase Case, double MaxAbsError, bool Passed, string? Failure);

/// <summary>
/// Runs every kernel-backed op on odd shapes (primes, sizes that are not multiples of the 64-wide GEMM tile or the
/// 32-lane warp) on a GPU backend and on <see cref="CpuBackend"/>, and compares element by element.
/// Tolerances: the kernels use fp32 with a different summation order (warp trees vs. the CPU's double
/// accumulators) and ex2/lg2-based exp/log, so they agree with the CPU to ~1e-6 relative per element; the
/// bounds below leave room for reductions over a few hundred terms and for gradients that chain several ops.
/// </summary>
public static partial class KernelVerification
{
    private const double Atol = 1e-5;
    private const double Rtol = 1e-4;

    public static IReadOnlyList<KernelCase> Cases { get; } = BuildCases();

    public static KernelCaseResult Check(KernelCase c, IBackend gpu)
    {
        float[][] expected, actual;
        try
        {
            expected = Evaluate(c, CpuBackend.Instance);
            actual = Evaluate(c, gpu);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new KernelCaseResult(c, double.NaN, false, $"{e.GetType().Name}: {e.Message}");
        }
        double worst = 0;
        string? failure = null;
        for (var t = 0; t < expected.Length; t++)
        {
            if (expected[t].Length != actual[t].Length)
            {
                return new KernelCaseResult(c, double.NaN, false, $"output {t}: {actual[t].Length} values, expected {expected[t].Length}");
            }
            for (var i = 0; i < expected[t].Length; i++)
            {
                double e = expected[t][i], a = actual[t][i];
                var diff = Math.Abs(a - e);
                if (double.IsNaN(diff))
                {
                    diff = double.IsNaN(a) && double.IsNaN(e) ? 0 : double.PositiveInfinity;
                }
                worst = Math.Max(worst, diff);
                if (failure is null && diff != 0 && !(diff <= c.Atol + c.Rtol * Math.Abs(e)))
                {
                    failure = $"output {t}[{i}]: cpu {e:R}, gpu {a:R}";
                }
            }
        }
        return new KernelCaseResult(c, worst, failure is null, failure);
    }

    private static float[][] Evaluate(KernelCase c, IBackend backend)
    {
        using var scope = new TensorScope();
        var outputs = c.Run(backend);
        var arrays = new float[outputs.Length][];
        for (var i = 0; i < outputs.Length; i++)
        {
            arrays[i] = outputs[i].ToArray();
        }
        return arrays;
    }

    public static Tensor Input(IBackend backend, int[] shape, int seed, float lo = -1f, float hi = 1f, bool grad = false) =>
        SeededInputs.Tensor(backend, shape, seed, lo, hi, grad);

    /// <summary><paramref name="count"/> seeded uniform values in [lo, hi).</summary>
    public static float[] Values(int count, int seed, float lo = -1f, float hi = 1f) => SeededInputs.Values(count, seed, lo, hi);

    /// <summary>Back-propagates sum(y · w) for a seeded w, so every output element carries a distinct weight.</summary>
    private static void BackwardWeighted(Tensor y, int seed)
    {
        var w = Input(y.Backend, y.Shape.ToArray(), seed);
        Ops.Sum(Ops.Mul(y, w)).Backward();
    }

    private static KernelCase Unary(string name, Func<Tensor, Tensor> op, float lo, float hi, string kernels) =>
        new($"{name} fwd+bwd", "[7, 33]", kernels, Atol, Rtol, b =>
        {
            var x = Input(b, [7, 33], 11, lo, hi, grad: true);
            var y = op(x);
            BackwardWeighted(y, 12);
            return [y, x.Grad!];
        });

    private static List<KernelCase> BuildCases()
    {
        const string unaryKernels = "unary_f32, unary_backward_f32";
        var cases = new List<KernelCase>
        {
            new("fill", "[97]", "fill_f32", 0, 0, b => [Tensor.Full([97], 2.5f, b)]),
            new("add (same shape)", "[37, 61]", "add_f32", Atol, Rtol, b => [Ops.Add(Input(b, [37, 61], 1), Input(b, [37, 61], 2))]),
            new("mul (same shape)", "[37, 61]", "mul_f32", Atol, Rtol, b => [Ops.Mul(Input(b, [37, 61], 1), Input(b, [37, 61], 2))]),
            new("sub (broadcast)", "[5,1,7] - [3,7]", "broadcast_binary_f32", Atol, Rtol, b => [Ops.Sub(Input(b, [5, 1, 7], 3), Input(b, [3, 7], 4))]),
            new("div (broadcast)", "[13,29] / [29]", "broadcast_binary_f32", Atol, Rtol, b => [Ops.Div(Input(b, [13, 29], 5), Input(b, [29], 6, 0.5f, 2f))]),
            new("maximum (broadcast) fwd+bwd", "[13,29] vs [13,1]", "broadcast_binary_f32, row_sum", Atol, Rtol, b =>
            {
                var x = Input(b, [13, 29], 7, grad: true);
                var m = Input(b, [13, 1], 8, grad: true);
                var y = Ops.Maximum(x, m);
                BackwardWeighted(y, 49);
                return [y, x.Grad!, m.Grad!];
            }),
            new("minimum (broadcast)", "[29] vs [13,29]", "broadcast_binary_f32", Atol, Rtol, b => [Ops.Minimum(Input(b, [29], 9), Input(b, [13, 29], 10))]),
            new("add (broadcast) fwd+bwd", "[5,3,7] + [3,1]", "broadcast_binary_f32, sum_axes_f32, column_sum_*", Atol, Rtol, b =>
            {
                var x = Input(b, [5, 3, 7], 13, grad: true);
                var bias = Input(b, [3, 1], 14, grad: true);
                BackwardWeighted(Ops.Add(x, bias), 15);
                return [x.Grad!, bias.Grad!];
            }),
            new("copy (permute)", "[3,5,7,11] -> (2,0,3,1)", "strided_copy_f32", 0, 0, b => [Ops.Contiguous(Ops.Permute(Input(b, [3, 5, 7, 11], 16), 2, 0, 3, 1))]),
            new("copy (rank 6 permute)", "[2,3,2,3,2,5] reversed", "strided_copy_f32", 0, 0, b => [Ops.Contiguous(Ops.Permute(Input(b, [2, 3, 2, 3, 2, 5], 17), 5, 4, 3, 2, 1, 0))]),
            new("concat + narrow bwd", "[4,9] ++ [4,5]", "strided_copy_f32, fill_f32", 0, 0, b =>
            {
                var x = Input(b, [4, 9], 18, grad: true);
                var y = Ops.Concat([x, Input(b, [4, 5], 19)], 1);
                BackwardWeighted(Ops.Narrow(y, 1, 3, 8), 20);
                return [y, x.Grad!];
            }),
            Unary("neg", Ops.Neg, -2f, 2f, unaryKernels),
            Unary("exp", Ops.Exp, -4f, 4f, unaryKernels),
            Unary("log", Ops.Log, 0.05f, 5f, unaryKernels),
            Unary("sqrt", Ops.Sqrt, 0.05f, 5f, unaryKernels),
            Unary("abs", Ops.Abs, -2f, 2f, unaryKernels),
            Unary("square", Ops.Square, -2f, 2f, unaryKernels),
            Unary("relu", Ops.Relu, -2f, 2f, unaryKernels),
            Unary("sigmoid", Ops.Sigmoid, -6f, 6f, unaryKernels),
            Unary("tanh", Ops.Tanh, -3f, 3f, unaryKernels),
            Unary("add_scalar", x => Ops.AddScalar(x, 0.75f), -2f, 2f, unaryKernels),
            Unary("pow 3", x => Ops.Pow(x, 3f), -2f, 2f, unaryKernels),
            Unary("pow 1.7", x => Ops.Pow(x, 1.7f), 0.05f, 3f, unaryKernels),
            Unary("scale", x => Ops.Scale(x, -1.25f), -2f, 2f, "scale_f32"),
            Unary("gelu", Ops.Gelu, -5f, 5f, "bias_gelu_forward, bias_gelu_backward"),
            Unary("quick_gelu", Ops.QuickGelu, -5f, 5f, "bias_quick_gelu_forward, bias_quick_gelu_backward"),
            new("sum (last axis)", "[37, 45] -> [37]", "row_sum", Atol, Rtol, b => [Ops.Sum(Input(b, [37, 45], 21), [1])]),
            new("sum (all)", "[301, 7]", "row_sum", Atol, Rtol, b => [Ops.Sum(Input(b, [301, 7], 22))]),
            new("sum (first axis)", "[150, 37] -> [37]", "column_sum_partial, column_sum_final", Atol, Rtol, b => [Ops.Sum(Input(b, [150, 37], 23), [0])]),
            new("sum (axes 0, 2)", "[6, 7, 9] -> [7]", "sum_axes_f32", Atol, Rtol, b => [Ops.Sum(Input(b, [6, 7, 9], 24), [0, 2])]),
            new("matmul fwd+bwd", "[3,37,29] @ [29,45]", "gemm_f32", Atol, Rtol, b =>
            {
                var a = Input(b, [3, 37, 29], 25, grad: true);
                var w = Input(b, [29, 45], 26, grad: true);
                var y = Ops.MatMul(a, w);
                BackwardWeighted(y, 27);
                return [y, a.Grad!, w.Grad!];
            }),
            new("matmul transA transB", "[29,37]^T @ [45,29]^T", "gemm_f32", Atol, Rtol, b =>
                [Ops.MatMul(Input(b, [29, 37], 28), Input(b, [45, 29], 29), transA: true, transB: true)]),
            new("matmul (batch broadcast)", "[2,3,17,19] @ [3,19,23]", "gemm_f32, strided_copy_f32", Atol, Rtol, b =>
                [Ops.MatMul(Input(b, [2, 3, 17, 19], 30), Input(b, [3, 19, 23], 31))]),
            new("matmul (permuted view)", "[5,7,3,11]^(0,2,1,3) @ [3,11,13]", "gemm_f32, strided_copy_f32", Atol, Rtol, b =>
                [Ops.MatMul(Ops.Permute(Input(b, [5, 7, 3, 11], 32), 0, 2, 1, 3), Input(b, [3, 11, 13], 33))]),
            new("linear+bias fwd+bwd", "[5,7,33] x [19,33]", "gemm_f32, strided_copy_f32, column_sum_*", Atol, Rtol, b =>
            {
                var x = Input(b, [5, 7, 33], 34, grad: true);
                var w = Input(b, [19, 33], 35, grad: true);
                var bias = Input(b, [19], 36, grad: true);
                var y = Ops.Linear(x, w, bias);
                BackwardWeighted(y, 37);
                return [y, x.Grad!, w.Grad!, bias.Grad!];
            }),
            // bf16 inputs: each product is off by at most ~2 * 2^-9 relative, so |error| <= 2^-8 * sum|a||b| ~ 2^-8 * K/4
            // = 0.07 for K = 70 with inputs in [-1, 1] (a bound, not a typical error), plus 1e-2 relative headroom.
            new("matmul bf16 tensor cores", "[2,37,70] @ [70,45]; x[37,70] . w[45,70]^T", "gemm_tc_bf16", 0.07, 1e-2, b =>
                WithTensorCores(b, () => [Ops.MatMul(Input(b, [2, 37, 70], 50), Input(b, [70, 45], 51)), Ops.Linear(Input(b, [37, 70], 52), Input(b, [45, 70], 53), null)])),
            new("layernorm fwd+bwd", "[150, 65]", "layernorm_forward, layernorm_backward_dx, layernorm_backward_params_partial, column_sum_final", Atol, 2 * Rtol, b =>
            {
                var x = Input(b, [150, 65], 38, -2f, 3f, grad: true);
                var gamma = Input(b, [65], 39, 0.5f, 1.5f, grad: true);
                var beta = Input(b, [65], 40, grad: true);
                var y = Ops.LayerNorm(x, gamma, beta, 1e-5f);
                BackwardWeighted(y, 41);
                return [y, x.Grad!, gamma.Grad!, beta.Grad!];
            }),
            new("softmax fwd+bwd", "[9, 77]", "softmax_forward, softmax_backward", Atol, Rtol, b =>
            {
                var x = Input(b, [9, 77], 42, -6f, 6f, grad: true);
                var y = Ops.Softmax(x);
                BackwardWeighted(y, 43);
                return [y, x.Grad!];
            }),
            new("softmax causal + [L,L] mask", "[2,3,13,13]", "softmax_forward, softmax_backward", Atol, Rtol, b =>
            {
                var x = Input(b, [2, 3, 13, 13], 44, -4f, 4f, grad: true);
                var y = Ops.Softmax(x, MaskWithHoles(b, [13, 13]), causal: true);
                BackwardWeighted(y, 45);
                return [y, x.Grad!];
            }),
            new("softmax + [B,1,1,L] mask", "[2,3,5,13]", "softmax_forward, strided_copy_f32", Atol, Rtol, b =>
                [Ops.Softmax(Input(b, [2, 3, 5, 13], 46, -4f, 4f), MaskWithHoles(b, [2, 1, 1, 13]))]),
            new("l2normalize fwd+bwd", "[9, 100]", "l2norm_forward, l2norm_backward", Atol, Rtol, b =>
            {
                var x = Input(b, [9, 100], 47, -2f, 2f, grad: true);
                var y = Ops.L2Normalize(x);
                BackwardWeighted(y, 48);
                return [y, x.Grad!];
            }),
        };
        cases.AddRange(AttentionCases());
        cases.AddRange(AttentionTcCases());
        cases.AddRange(LinearCases());
        cases.AddRange(Bf16WeightCases());
        AddIndexingAndOptimizerCases(cases);
        return cases;
    }

    /// <summary>Runs <paramref name="run"/> with bf16 tensor-core matmuls on a GPU backend (the CPU reference stays fp32).</summary>
    private static Tensor[] WithTensorCores(IBackend backend, Func<Tensor[]> run)
    {
        if (backend is not GpuBackend gpu)
        {
            return run();
        }
        var saved = gpu.MatMulPrecision;
        gpu.MatMulPrecision = MatMulPrecision.Bf16TensorCores;
        try
        {
            return run();
        }
        finally
        {
            gpu.MatMulPrecision = saved;
        }
    }

    /// <summary>An additive mask of small values with -inf holes, never in column 0 (so no row is fully masked).</summary>
    private static Tensor MaskWithHoles(IBackend backend, int[] shape)
    {
        var data = new float[Shapes.Numel(shape)];
        var cols = shape[^1];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = i % cols != 0 && i % 5 == 3 ? float.NegativeInfinity : 0.1f * (i % 7);
        }
        return Tensor.FromArray(data, shape, backend);
    }
}
