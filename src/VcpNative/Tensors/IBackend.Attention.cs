// Kernel declarations of fused scaled-dot-product attention (flash-style forward, recomputing backward).
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// output = softmax(scale · q kᵀ (+ causal mask)) v per (batch, head), without materialising the [Lq, Lk] matrix.
    /// q [B,H,Lq,D], k and v [B,H,Lk,D] are F32 views whose last axis has unit stride (other strides free, e.g. heads
    /// sliced from a fused qkv projection); output [B,H,Lq,D] and logSumExp [B,H,Lq] are contiguous. logSumExp
    /// receives the per-row log Σ exp(logits) for backward and may be null at inference. Causal masking is
    /// PyTorch's top-left alignment: query i sees keys j ≤ i.
    /// </summary>
    void AttentionForward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor? logSumExp, float scale, bool causal);

    /// <summary>
    /// Gradients of <see cref="AttentionForward"/> from the saved output and logSumExp (tiles recomputed).
    /// gradOutput is contiguous; each of gradQ/gradK/gradV is a contiguous tensor of its input's shape, or null
    /// when that input needs no gradient (its work is skipped). Deterministic: no atomics, fixed summation order.
    /// </summary>
    void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor logSumExp, Tensor gradOutput,
        Tensor? gradQ, Tensor? gradK, Tensor? gradV, float scale, bool causal);
}
