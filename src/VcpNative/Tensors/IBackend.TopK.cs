// Kernels of top-k selection along the last axis and the scatter of its value gradient.
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// Per row of contiguous x [rows, n]: the k largest (or smallest) values in order (best first) into values
    /// [rows, k] and their positions into I32 indices [rows, k]. Ties go to the lower index first; NaN counts as
    /// larger than every number (as in PyTorch): picked first when largest, last when smallest.
    /// </summary>
    void TopKForward(Tensor x, int k, bool largest, Tensor values, Tensor indices);

    /// <summary>gx[r, indices[r, j]] = gValues[r, j]; gx [rows, n] arrives zeroed.</summary>
    void TopKBackward(Tensor indices, Tensor gValues, Tensor gx);
}
