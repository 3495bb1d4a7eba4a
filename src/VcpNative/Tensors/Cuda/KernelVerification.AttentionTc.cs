// Verification cases of the tensor-core attention forward (kernels/attention_tc.cu) for `kernels verify` and the emulator tests.
namespace VcpNative.Tensors.Cuda;

public static partial class KernelVerification
{
    /// <summary>
    /// Tolerance of the bf16 tensor-core forward against the fp32 CPU (|q|, |k| &lt;= 1.5, |v| &lt;= 1, scale &lt;= 1/sqrt(D)):
    /// rounding q and k to bf16 (8 significant bits) moves each score by at most 2^-8 scale sum|q||k| &lt;= 2^-8 * 1.5^2
    /// * sqrt(D) ~ 0.09 for D = 96 (a worst case; random signs give ~0.01), so a softmax weight moves by up to ~9%
    /// relative (typically ~1%) and the output, a weighted average of |v| &lt;= 1, by about as much; P and V rounded
    /// to bf16 add 2^-8 relative. Accumulation is fp32. Gradients come from the fp32 backward (attention.cu) fed with
    /// this forward's output and logsumexp: they inherit its ~1% error through two chained products. Hence 5e-2
    /// absolute plus 5e-2 relative; the emulator tests check the forward alone much tighter.
    /// </summary>
    private const double AttentionTcTol = 5e-2;

    private static IEnumerable<KernelCase> AttentionTcCases()
    {
        yield return AttentionTcCase("attention bf16 tensor cores fwd+bwd", 1, 2, 37, 50, 64, null, causal: false, fused: false, "attention_forward_tc_bf16");
        yield return AttentionTcCase("attention bf16 tensor cores causal, D 96", 1, 1, 70, 45, 96, 0.07f, causal: true, fused: false, "attention_forward_tc_bf16_d128");
        yield return AttentionTcCase("attention bf16 tensor cores fused qkv views, causal, D 13", 1, 2, 33, 33, 13, null, causal: true, fused: true, "attention_forward_tc_bf16");
    }

    private static KernelCase AttentionTcCase(string op, int batch, int heads, int lq, int lk, int d, float? scale, bool causal,
        bool fused, string forwardKernel)
    {
        var inner = AttentionCase(op, batch, heads, lq, lk, d, scale, causal, fused, forwardKernel);
        return inner with
        {
            Atol = AttentionTcTol,
            Rtol = AttentionTcTol,
            Run = b => WithTensorCores(b, () => inner.Run(b)),
        };
    }
}
