// Unfold/fold (im2col/col2im) kernels that turn the two convolutions CLIP and VCP-CLIP use into GEMMs.
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// Non-overlapping patches (stride == kernel == P, no padding): from contiguous x [B, C, H, W] writes
    /// cols [B, C*P*P, Hp*Wp] with cols[b, (c*P + ky)*P + kx, i*Wp + j] = x[b, c, i*P + ky, j*P + kx],
    /// Hp = H / P, Wp = W / P (floored, trailing rows/columns ignored as in PyTorch).
    /// </summary>
    void PatchUnfold(Tensor x, int patch, Tensor cols);

    /// <summary>Adjoint of <see cref="PatchUnfold"/>: writes every element of gx [B, C, H, W] (0 where no patch reads).</summary>
    void PatchFold(Tensor cols, int patch, Tensor gx);

    /// <summary>
    /// 1-D im2col, stride 1, zero padding: from contiguous x [B, Cin, L] writes cols [B, Cin*K, Lout] with
    /// cols[b, c*K + k, t] = x[b, c, t + k - padding] (0 outside [0, L)), Lout = L + 2*padding - K + 1.
    /// </summary>
    void Conv1dUnfold(Tensor x, int kernel, int padding, Tensor cols);

    /// <summary>Adjoint of <see cref="Conv1dUnfold"/>: gx[b, c, s] = sum over k of cols[b, c*K + k, s + padding - k].</summary>
    void Conv1dFold(Tensor cols, int kernel, int padding, Tensor gx);
}
