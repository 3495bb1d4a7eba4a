// The op interface every executor (CPU, CUDA, PTX emulator) implements; model code never sees which one runs.
namespace VcpNative.Tensors;

/// <summary>Elementwise binary operators with NumPy broadcasting.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a - b.</summary>
    Sub,
    /// <summary>a * b.</summary>
    Mul,
    /// <summary>a / b.</summary>
    Div,
    /// <summary>max(a, b).</summary>
    Max,
    /// <summary>min(a, b).</summary>
    Min,
}

/// <summary>Elementwise unary operators; <c>alpha</c> parameterises the scalar ones.</summary>
public enum UnaryOp
{
    /// <summary>-x.</summary>
    Neg,
    /// <summary>e^x.</summary>
    Exp,
    /// <summary>Natural log of x.</summary>
    Log,
    /// <summary>sqrt(x).</summary>
    Sqrt,
    /// <summary>|x|.</summary>
    Abs,
    /// <summary>x^2.</summary>
    Square,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>1 / (1 + e^-x).</summary>
    Sigmoid,
    /// <summary>tanh(x).</summary>
    Tanh,
    /// <summary>Exact GELU 0.5 x (1 + erf(x / sqrt 2)).</summary>
    Gelu,
    /// <summary>OpenAI CLIP's x * sigmoid(1.702 x).</summary>
    QuickGelu,
    /// <summary>x * alpha.</summary>
    Scale,
    /// <summary>x + alpha.</summary>
    AddScalar,
    /// <summary>x ^ alpha.</summary>
    PowScalar,
}

/// <summary>
/// Kernels of one executor. Every method receives tensors of this backend; outputs are contiguous F32
/// tensors allocated by the caller (the <see cref="Ops"/> layer), which also checks shapes. A kernel never
/// allocates its outputs, so the op layer controls memory.
/// </summary>
public partial interface IBackend
{
    /// <summary>Short name of the executor: "cpu", "cuda" or "gpu-emulated".</summary>
    string Name { get; }

    /// <summary>Storage for <paramref name="length"/> elements of <paramref name="dtype"/> on this backend, zeroed when <paramref name="zero"/>.</summary>
    TensorStorage Allocate(DType dtype, long length, bool zero);

    /// <summary>Copies the strided view <paramref name="src"/> into contiguous <paramref name="dst"/> of the same shape, converting dtype.</summary>
    void Copy(Tensor src, Tensor dst);

    /// <summary>Sets every element of contiguous <paramref name="dst"/> to <paramref name="value"/>.</summary>
    void Fill(Tensor dst, float value);

    /// <summary>Copies host f32 values into contiguous <paramref name="dst"/>.</summary>
    void Upload(ReadOnlySpan<float> source, Tensor dst);

    /// <summary>Copies contiguous f32 <paramref name="src"/> to the host.</summary>
    void Download(Tensor src, Span<float> destination);

    /// <summary>out = a (op) b; a and b are views already expanded to out's shape (stride 0 on broadcast axes).</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor output);

    /// <summary>y = op(x), with <paramref name="alpha"/> for the scalar ops (Scale, AddScalar, PowScalar).</summary>
    void Unary(UnaryOp op, Tensor x, Tensor y, float alpha);

    /// <summary>gx = gy * dy/dx for the unary op, given its input x and output y.</summary>
    void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, float alpha);

    /// <summary>Sums contiguous <paramref name="x"/> over the axes where <paramref name="y"/> (same rank) has size 1.</summary>
    void SumTo(Tensor x, Tensor y);

    /// <summary>
    /// Batched C = alpha op(A) op(B) + beta C over the leading batch axes. A is [..., M, K] (or [..., K, M] when
    /// transposed), B is [..., K, N] (or [..., N, K]); batch axes of A and B broadcast (stride 0), C is contiguous.
    /// </summary>
    void MatMul(Tensor a, bool transA, Tensor b, bool transB, Tensor c, float alpha, float beta);
}
