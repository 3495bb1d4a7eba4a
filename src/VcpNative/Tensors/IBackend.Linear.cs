// Backend entry point of the fused linear layer y = act(x W^T + b) (inference path of Ops.Linear).
namespace VcpNative.Tensors;

/// <summary>Activation fused into a linear layer's output.</summary>
public enum LinearActivation
{
    None,
    /// <summary>Exact GELU 0.5 x (1 + erf(x / sqrt 2)).</summary>
    Gelu,
    /// <summary>OpenAI CLIP's x * sigmoid(1.702 x).</summary>
    QuickGelu,
}

public partial interface IBackend
{
    /// <summary>
    /// y = act(x W^T + b): x [rows, K] contiguous, weight [N, K] (a GEMM-ready view), bias [N] contiguous or null,
    /// y [rows, N] contiguous. The default runs the unfused kernels (bias copy, MatMul, activation in place); a backend may
    /// override it to fuse bias and activation into the product.
    /// </summary>
    void LinearForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearActivation activation) =>
        LinearUnfused(this, x, weight, bias, y, activation);

    /// <summary>
    /// True when this backend's MatMul takes <paramref name="t"/> (a non-F32 tensor, e.g. a BF16 weight) as its B operand
    /// and LinearForward as its weight without widening it first; false (the default) makes the op layer widen it to F32.
    /// </summary>
    bool ReadsBf16Operand(Tensor t) => false;

    /// <summary>The unfused linear layer on any backend: bias copied into y, MatMul with beta = 1, activation in place.</summary>
    static void LinearUnfused(IBackend backend, Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearActivation activation)
    {
        var beta = 0f;
        if (bias is not null)
        {
            using var expanded = Ops.Expand(bias, y.Shape);
            backend.Copy(expanded, y);
            beta = 1f;
        }
        backend.MatMul(x, false, weight, true, y, 1f, beta);
        if (activation != LinearActivation.None)
        {
            backend.Unary(activation == LinearActivation.Gelu ? UnaryOp.Gelu : UnaryOp.QuickGelu, y, y, 0f);
        }
    }
}
