// Verification cases of the gather/scatter, resampling, top-k and Adam kernels (odd shapes, repeated ids, ties, NaN).
namespace VcpNative.Verification;

public static partial class KernelVerification
{
    private static void AddIndexingAndOptimizerCases(List<KernelCase> cases)
    {
        cases.Add(new("embedding fwd+bwd", "[23,13] at [2,7] (repeated ids)", "embedding_forward, embedding_backward", 0, 0, b =>
        {
            var table = Input(b, [23, 13], 60, grad: true);
            // Host ids with repeats (token 5 three times, 0 and 22 at the table's ends): bwd sums repeats in order.
            var y = Ops.Embedding(table, Tensor.FromInts([5, 0, 22, 5, 9, 5, 1, 2, 3, 22, 17, 0, 4, 8], [2, 7]));
            BackwardWeighted(y, 61);
            return [y, table.Grad!];
        }));
        // Exact: the backward adds the same terms in the CPU's order in fp32; gathers copy. (Device-resident ids
        // are covered by GpuIndexingTests: putting i32 on the device goes through the host dtype conversion.)
        cases.Add(new("conv2d patch fwd+bwd", "[2,3,17,23] * [5,3,4,4]", "patch_unfold, patch_fold, gemm_f32", Atol, Rtol, b =>
        {
            // 17 x 23 with P = 4: the trailing row and 3 columns are read by no patch and get gradient 0.
            var x = Input(b, [2, 3, 17, 23], 63, grad: true);
            var w = Input(b, [5, 3, 4, 4], 64, grad: true);
            var y = Ops.Conv2dPatch(x, w, null);
            BackwardWeighted(y, 65);
            return [y, x.Grad!, w.Grad!];
        }));
        cases.Add(new("conv1d k=3 pad=1 fwd+bwd", "[2,7,19] * [5,7,3]", "conv1d_unfold, conv1d_fold, gemm_f32", Atol, Rtol, b =>
        {
            var x = Input(b, [2, 7, 19], 66, grad: true);
            var w = Input(b, [5, 7, 3], 67, grad: true);
            var y = Ops.Conv1d(x, w, Input(b, [5], 68), 1);
            BackwardWeighted(y, 69);
            return [y, x.Grad!, w.Grad!];
        }));
        cases.Add(new("conv1d k=1 pad=1 fwd+bwd", "[1,3,11] * [4,3,1]", "conv1d_unfold, conv1d_fold, gemm_f32", Atol, Rtol, b =>
        {
            var x = Input(b, [1, 3, 11], 70, grad: true);
            var y = Ops.Conv1d(x, Input(b, [4, 3, 1], 71), null, 1);
            BackwardWeighted(y, 72);
            return [y, x.Grad!];
        }));
        // Resampling: fp32 weights and accumulation against the CPU's float64 ones (a few ulps of Σ|w·x| per pass).
        cases.Add(new("resize bilinear fwd+bwd", "[2,3,13,9] -> [29,20]", "resample_axis", Atol, Rtol, b =>
        {
            var x = Input(b, [2, 3, 13, 9], 73, grad: true);
            var y = Ops.ResizeBilinear(x, 29, 20, alignCorners: false);
            BackwardWeighted(y, 74);
            return [y, x.Grad!];
        }));
        cases.Add(new("resize bilinear align_corners", "[1,2,7,11] -> [5,17]", "resample_axis", Atol, Rtol, b =>
            [Ops.ResizeBilinear(Input(b, [1, 2, 7, 11], 75), 5, 17, alignCorners: true)]));
        cases.Add(new("resize bicubic antialias fwd+bwd", "[1,3,37,31] -> [11,13]", "resample_axis", Atol, Rtol, b =>
        {
            var x = Input(b, [1, 3, 37, 31], 76, grad: true);
            var y = Ops.ResizeBicubicAntialias(x, 11, 13);
            BackwardWeighted(y, 77);
            return [y, x.Grad!];
        }));
        cases.Add(new("gaussian blur fwd+bwd", "[2,19,23] sigma 2.5", "resample_axis", Atol, Rtol, b =>
        {
            var x = Input(b, [2, 19, 23], 78, 0f, 1f, grad: true);
            var y = Ops.GaussianBlur2d(x, 2.5f);
            BackwardWeighted(y, 79);
            return [y, x.Grad!];
        }));
        // Top-k is integer selection: values must equal the CPU's exactly (ties, NaN, -0 included), and the indices
        // are checked through the backward scatter (distinct seeded weights land at exactly the selected positions).
        cases.Add(TopKCase("topk largest fwd+bwd", 3, 1000, 37, largest: true, 80));
        cases.Add(TopKCase("topk smallest fwd+bwd (k = n)", 5, 13, 13, largest: false, 82));
        cases.Add(TopKCase("topk k=1 wide row fwd+bwd", 1, 4099, 1, largest: true, 84));
        // Adam: the kernel pins every fp32 rounding (no FMA), so three steps equal the CPU's bit for bit.
        cases.Add(new("adam 3 steps", "[7,19]", "adam_step", 0, 0, b =>
        {
            var p = Input(b, [7, 19], 84);
            var m = Tensor.Zeros([7, 19], DType.F32, b);
            var v = Tensor.Zeros([7, 19], DType.F32, b);
            for (var step = 1; step <= 3; step++)
            {
                b.AdamStep(p, Input(b, [7, 19], 90 + step, -0.1f, 0.1f), m, v, 1e-2, 0.5, 0.999, 1e-8, step);
            }
            return [p, m, v];
        }));
    }

    private static KernelCase TopKCase(string name, int rows, int n, int k, bool largest, int seed) =>
        new(name, $"[{rows},{n}] k={k}", "topk_forward, topk_backward", 0, 0, b =>
        {
            var x = TopKInput(b, rows, n, seed);
            var (values, _) = Ops.TopK(x, k, largest);
            BackwardWeighted(values, seed + 1);
            return [values, x.Grad!];
        });

    /// <summary>Rows of quantised values (many exact ties), with a NaN, a -0 and a +0 in row 0.</summary>
    private static Tensor TopKInput(IBackend backend, int rows, int n, int seed)
    {
        var rng = new Random(seed);
        var data = new float[rows * n];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = rng.Next(-40, 40) * 0.25f;
        }
        data[Math.Min(3, n - 1)] = float.NaN;
        data[Math.Min(5, n - 1)] = -0f;
        data[Math.Min(7, n - 1)] = 0f;
        var t = Tensor.FromArray(data, [rows, n], backend);
        t.RequiresGrad = true;
        return t;
    }
}
