// Kernel declarations of separable 2-D resampling (bilinear/bicubic resize, reflect Gaussian blur) and its adjoint.
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// y[p] = A_H · x[p] · A_Wᵀ for every plane p of contiguous x [..., H, W] into contiguous y [..., outH, outW],
    /// where A_H = <paramref name="alongH"/> (H → outH) and A_W = <paramref name="alongW"/> (W → outW). Each pass
    /// accumulates in float64 and rounds to float32 once; <paramref name="heightFirst"/> picks which axis goes first
    /// (scipy filters axis 0 first). The backward pass is this kernel with transposed tables and the order flipped.
    /// </summary>
    void Resample2d(Tensor x, Tensor y, ResampleWeights alongH, ResampleWeights alongW, bool heightFirst);
}
