// Kernels of the embedding lookup (row gather) and its scatter-add gradient.
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// output[n, :] = weight[ids[n], :] for contiguous weight [V, D] (F32, or F16/BF16 widened per row), contiguous I32 ids [N] (ids already range
    /// checked by the op layer) and output [N, D].
    /// </summary>
    void EmbeddingForward(Tensor weight, Tensor ids, Tensor output);

    /// <summary>gWeight[ids[n], :] += gy[n, :] in order of n (deterministic); gWeight [V, D] arrives zeroed.</summary>
    void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gWeight);
}
