// Kernels of LayerNorm over the last axis (PyTorch semantics: biased variance, eps inside the square root).
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// y = (x - mean) * rstd * gamma + beta per row of contiguous x [rows, D]; gamma/beta [D] or null (1 / 0).
    /// Also writes mean [rows] and rstd = 1 / sqrt(var + eps) [rows] for backward.
    /// </summary>
    void LayerNormForward(Tensor x, Tensor? gamma, Tensor? beta, float eps, Tensor y, Tensor mean, Tensor rstd);

    /// <summary>
    /// Given saved mean/rstd and gy [rows, D], writes whichever of gx [rows, D], gGamma [D], gBeta [D] is non-null;
    /// a null output means that input needs no gradient and its work is skipped.
    /// </summary>
    void LayerNormBackward(Tensor x, Tensor? gamma, Tensor mean, Tensor rstd, Tensor gy, Tensor? gx, Tensor? gGamma, Tensor? gBeta);
}
