// Verification cases of the fused linear layer (linear_f32: bias and activation in the GEMM epilogue).

namespace VcpNative.Verification;

public static partial class KernelVerification
{
    /// <summary>
    /// Inference-path Linear with each activation, with and without bias, on sizes that are not multiples of the 64-wide
    /// tile. Without a tape Ops.Linear goes to LinearForward, which the GPU backend fuses; the CPU fuses it in its sgemm.
    /// </summary>
    private static IEnumerable<KernelCase> LinearCases()
    {
        yield return LinearCase("linear fused bias + GELU", 67, 45, 70, bias: true, LinearActivation.Gelu);
        yield return LinearCase("linear fused QuickGELU, no bias", 33, 13, 129, bias: false, LinearActivation.QuickGelu);
        yield return LinearCase("linear fused bias", 5, 100, 3, bias: true, LinearActivation.None);
    }

    private static KernelCase LinearCase(string op, int rows, int k, int n, bool bias, LinearActivation activation) =>
        new(op, $"x [{rows},{k}] W [{n},{k}]{(bias ? " + b" : "")}", "linear_f32", Atol, Rtol, b =>
        {
            using var noTape = Tape.NoGrad();
            var x = Input(b, [rows, k], 70);
            var w = Input(b, [n, k], 71);
            var bv = bias ? Input(b, [n], 72) : null;
            return [Ops.Linear(x, w, bv, activation)];
        });
}
