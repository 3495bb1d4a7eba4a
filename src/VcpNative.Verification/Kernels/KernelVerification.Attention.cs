// Verification cases of the fused attention kernels (kernels/attention.cu) for `kernels verify` and the emulator tests.
namespace VcpNative.Verification;

public static partial class KernelVerification
{
    private const string AttentionForwardKernels = "attention_forward";
    private const string AttentionBackwardKernels = "attention_backward_delta, attention_backward_dkdv, attention_backward_dq";

    /// <summary>
    /// Forward and backward of <see cref="Ops.Attention"/> on shapes that exercise partial 32-key tiles, D not a
    /// multiple of 32, Lq != Lk, causal masking, the few-query kernel and q/k/v read in place from a fused qkv tensor.
    /// Tolerance 1e-4 relative: each output is a softmax-weighted sum of up to ~50 terms and each gradient chains
    /// two such products, computed with ex2.approx on the GPU and in a different order than the CPU.
    /// </summary>
    private static IEnumerable<KernelCase> AttentionCases()
    {
        yield return AttentionCase("attention fwd+bwd", 2, 2, 37, 45, 13, null, causal: false, fused: false, AttentionForwardKernels);
        yield return AttentionCase("attention causal fwd+bwd (scale 1)", 1, 2, 41, 41, 40, 1f, causal: true, fused: false, AttentionForwardKernels);
        yield return AttentionCase("attention fused qkv views, causal", 2, 2, 33, 33, 8, null, causal: true, fused: true, AttentionForwardKernels);
        yield return AttentionCase("attention few queries fwd+bwd", 2, 2, 2, 37, 13, null, causal: false, fused: false, "attention_forward_rows");
        yield return AttentionCase("attention D > 96 fwd+bwd", 1, 1, 11, 35, 100, null, causal: true, fused: false, "attention_forward");
    }

    private static KernelCase AttentionCase(string op, int batch, int heads, int lq, int lk, int d, float? scale, bool causal,
        bool fused, string forwardKernels) =>
        new(op, $"q [{batch},{heads},{lq},{d}], k/v [{batch},{heads},{lk},{d}]{(causal ? " causal" : "")}{(fused ? " (views of a fused qkv)" : "")}",
            forwardKernels + ", " + AttentionBackwardKernels, Atol, Rtol, b =>
        {
            Tensor q, k, v;
            Tensor[] leaves;
            if (fused)
            {
                // One [B, L, 3·H·D] projection; q, k, v are strided [B, H, L, D] views of it (unit last stride).
                var qkv = Input(b, [batch, lk, 3 * heads * d], 60, grad: true);
                var split = Ops.Reshape(qkv, batch, lk, 3, heads, d);
                q = Ops.Permute(Ops.Select(split, 2, 0), 0, 2, 1, 3);
                k = Ops.Permute(Ops.Select(split, 2, 1), 0, 2, 1, 3);
                v = Ops.Permute(Ops.Select(split, 2, 2), 0, 2, 1, 3);
                leaves = [qkv];
            }
            else
            {
                q = Input(b, [batch, heads, lq, d], 61, -1.5f, 1.5f, grad: true);
                k = Input(b, [batch, heads, lk, d], 62, -1.5f, 1.5f, grad: true);
                v = Input(b, [batch, heads, lk, d], 63, grad: true);
                leaves = [q, k, v];
            }
            var y = Ops.Attention(q, k, v, scale, causal);
            BackwardWeighted(y, 64);
            var result = new Tensor[1 + leaves.Length];
            result[0] = y;
            for (var i = 0; i < leaves.Length; i++)
            {
                result[i + 1] = leaves[i].Grad!;
            }
            return result;
        });
}
