// Verification cases of the tensor-core attention forward (kernels/attention_tc.cu) for `kernels verify` and the emulator tests.
namespace VcpNative.Verification;

public static partial class KernelVerification
{
    /// <summary>
    /// Tolerance of the bf16 tensor-core forward against the fp32 CPU (|q|, |k| &lt;= 1.5, |v| &lt;= 1): rounding q and k
    /// to bf16 (relative error uniform in +-2^-9) moves a score by scale * sum(dq k + q dk), 2D independent terms, rms
    /// ~1.2e-3 at scale 1/sqrt(D) for any D (less at the explicit scale 0.07 with D = 96); at 5 sigma the softmax
    /// weights move by 0.6 % relative and the output, an average of |v| &lt;= 1, by as much, plus 2^-9 from rounding v and
    /// P. Accumulation is fp32. Gradients come from the fp32 backward (attention.cu) fed with this forward's output and
    /// logsumexp and inherit that error through two chained products. Hence 1e-2 absolute plus 1e-2 relative
    /// (measured: at most 2.2e-3 over outputs and gradients of these cases).
    /// </summary>
    private const double AttentionTcTol = 1e-2;

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
