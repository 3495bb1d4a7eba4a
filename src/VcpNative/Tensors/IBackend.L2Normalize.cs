// Kernels of x / ||x||_2 over the last axis, with no epsilon (PyTorch x / x.norm(dim=-1, keepdim=True)).
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>y = x / ||x|| per row of contiguous x [rows, D]; writes the norms [rows] for backward.</summary>
    void L2NormalizeForward(Tensor x, Tensor y, Tensor norm);

    /// <summary>gx = (gy - y * sum(gy * y)) / norm per row.</summary>
    void L2NormalizeBackward(Tensor y, Tensor norm, Tensor gy, Tensor gx);
}
