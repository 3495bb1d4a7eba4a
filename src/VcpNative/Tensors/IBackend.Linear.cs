// Backend entry point of the fused linear layer y = act(x W^T + b) (inference path of Ops.Linear).
namespace VcpNative.Tensors;

/// <summary>Activation fused into a linear layer's output.</summary>
public enum LinearActivation
{
    /// <summary>y = x W^T + b only.</summary>
    None,
    /// <summary>Exact GELU 0.5 x (1 + erf(x / sqrt 2)).</summary>
    Gelu,
    /// <summary>OpenAI CLIP's x * sigmoid(1.702 x).</summary>
    QuickGelu,
}

/// <summary>Arithmetic of the image tower's transformer-block linear layers (the CLI's <c>--compute</c>).</summary>
public enum LinearCompute
{
    /// <summary>fp32 products (weights stored bf16 / int8 are widened to f32 while the GEMM packs them).</summary>
    Fp32,
    /// <summary>
    /// int8 x int8 -> int32 products on the CPU: weights per output channel, activations per token at each call, with
    /// outlier input channels in an fp32 side product (<see cref="IBackend.PrepareInt8Linear"/>).
    /// </summary>
    Int8,
}

/// <summary>How a backend wants the linear weights of a weight file when they are loaded onto it.</summary>
public enum LinearWeightPlacement
{
    /// <summary>Every weight widened to F32 on the backend.</summary>
    F32,
    /// <summary>bf16 and int8 (+ channel scales) linear weights kept as stored, in host memory; the rest F32.</summary>
    CompressedAsStored,
    /// <summary>The transformer blocks' 2-D linear weights as BF16 on the backend (rounded to nearest even); the rest F32.</summary>
    Bf16,
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

    /// <summary>
    /// True when LinearForward takes <paramref name="weight"/> as it is stored (a compressed bf16 / int8 weight the
    /// backend widens while it packs it, or a BF16 operand it reads directly); false makes the op layer widen it to F32.
    /// </summary>
    bool ReadsLinearWeightInPlace(Tensor weight) => ReadsBf16Operand(weight);

    /// <summary>
    /// True when MatMul can read the F32 view <paramref name="t"/> in place (the default: backends that copy strided
    /// operands themselves); a backend whose GEMM needs one unit stride in the last two axes says so per view.
    /// </summary>
    bool ReadsGemmOperandInPlace(Tensor t) => true;

    /// <summary>Where weight files' linear weights go on this backend (see <see cref="LinearWeightPlacement"/>).</summary>
    LinearWeightPlacement LinearWeightPlacement => LinearWeightPlacement.F32;

    /// <summary>True when <see cref="PrepareInt8Linear"/> works: LinearForward can compute with int8 weights and activations.</summary>
    bool SupportsInt8Linear => false;

    /// <summary>
    /// Makes LinearForward on <paramref name="weight"/> (F32, or I8 with channel scales, [N, K]) compute in int8: weights
    /// per output channel, activations per token at each call, int32 sums. Once per weight, at load; the weight keeps its
    /// stored form for every other use. Throws <see cref="NotSupportedException"/> unless <see cref="SupportsInt8Linear"/>.
    /// </summary>
    void PrepareInt8Linear(Tensor weight) =>
        throw new NotSupportedException($"backend '{Name}' has no int8 linear layers: int8 compute runs on the CPU backend");

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
