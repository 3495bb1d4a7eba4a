// Kernels of softmax over the last axis with an optional additive mask and causal masking.
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// y = softmax(x + mask) per row of contiguous x. <paramref name="mask"/> is null or an F32 view with x's shape
    /// (stride 0 on broadcast axes). When <paramref name="causal"/>, row i of the last two axes [Lq, Lk] sees keys
    /// j &lt;= i only (others get probability 0). A row whose visible logits are all -inf yields NaN, as in PyTorch.
    /// </summary>
    void SoftmaxForward(Tensor x, Tensor? mask, bool causal, Tensor y);

    /// <summary>gx = y * (gy - sum(gy * y)) per row; all three contiguous with the same shape.</summary>
    void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx);
}
