// CPU kernel of the fused linear layer: one sgemm whose epilogue adds the bias and applies the activation per block.

namespace VcpNative.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// y = act(x W^T + b) in one pass over y: the bias and GELU are applied to each block of y right after the micro-kernel
    /// wrote it (still in cache), instead of a bias copy before and an activation pass after the product.
    /// </summary>
    public void LinearForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearActivation activation)
    {
        var rows = x.Shape[0];
        var k = x.Shape[1];
        var n = y.Shape[1];
        _ = Dense(x);
        _ = Dense(y);
        var compressed = IsCompressedLinearWeight(weight);
        var (tw, ldw) = compressed ? (true, Math.Max(1, k)) : GemmLayout(weight, true);
        var epilogue = activation switch
        {
            LinearActivation.Gelu => GemmEpilogue.Gelu,
            LinearActivation.QuickGelu => GemmEpilogue.QuickGelu,
            _ => GemmEpilogue.None,
        };
        if (rows == 0 || n == 0)
        {
            return;
        }
        if (k == 0)
        {
            // No product to fuse into: y = act(bias) by the plain kernels.
            Fill(y, 0f);
            if (bias is not null)
            {
                using var expanded = Ops.Expand(bias, y.Shape);
                Binary(BinaryOp.Add, y, expanded, y);
            }
            if (activation != LinearActivation.None)
            {
                Unary(activation == LinearActivation.Gelu ? UnaryOp.Gelu : UnaryOp.QuickGelu, y, y, 0f);
            }
            return;
        }
        if (bias is not null)
        {
            _ = Dense(bias);
        }
        if (weight.LinearComputeForm is Int8PackedWeight packed)
        {
            LinearInt8(x, packed, bias, y, epilogue);
            return;
        }
        if (compressed)
        {
            LinearCompressedWeight(x, weight, bias, y, epilogue);
            return;
        }
        fixed (float* xp = Cpu(x).Floats, wp = Cpu(weight).Floats, yp = Cpu(y).Floats, bp = bias is null ? null : Cpu(bias).Floats)
        {
            var biasPtr = bias is null ? null : bp + bias.Offset;
            Sgemm.Multiply(false, tw, rows, n, k, 1f, xp + x.Offset, Math.Max(1, k), wp + weight.Offset, ldw, 0f, yp + y.Offset, Math.Max(1, n),
                epilogue, biasPtr);
        }
    }

    /// <inheritdoc/>
    public bool SupportsInt8Linear => true;

    /// <summary>Name of the int8 micro-kernel this CPU runs (e.g. "avxvnni-6x16"), for logs and benchmarks.</summary>
    public static string Int8KernelName => Int8Kernel.Default.Name;

    /// <inheritdoc/>
    public void PrepareInt8Linear(Tensor weight) => PrepareInt8Linear(weight, Int8OutlierPolicy.Default);

    /// <summary>As <see cref="PrepareInt8Linear(Tensor)"/> with an explicit outlier policy (tests turn the split off).</summary>
    internal static void PrepareInt8Linear(Tensor weight, Int8OutlierPolicy outliers)
    {
        if (weight.Storage is not CpuStorage || weight.Rank != 2 || weight.Shape[1] == 0)
        {
            throw new ArgumentException($"int8 compute needs a 2-D [N, K] CPU weight with K > 0, got {weight}", nameof(weight));
        }
        if (weight.LinearComputeForm is not null)
        {
            return;
        }
        var (n, k) = (weight.Shape[0], weight.Shape[1]);
        if (weight.DType == DType.I8 && weight.IsContiguous && weight.ChannelScales is { IsContiguous: true, DType: DType.F32 } scales)
        {
            // An int8 weight file's values as they are: the same per-channel scheme, no second rounding.
            var q = Cpu(weight).SBytes.AsSpan((int)weight.Offset, n * k);
            weight.LinearComputeForm = Int8PackedWeight.FromInt8(q, Cpu(scales).Floats.AsSpan((int)scales.Offset, n), n, k, outliers);
            return;
        }
        if (weight.DType == DType.F32 && weight.IsContiguous)
        {
            // The f32 storage stays with the tensor: the outlier columns multiply by it (exact weights where x is large).
            weight.LinearComputeForm = Int8PackedWeight.Quantize(Dense(weight), n, k, outliers, Cpu(weight).Floats, (int)weight.Offset);
            return;
        }
        using var dense = weight.ToContiguousF32();
        weight.LinearComputeForm = Int8PackedWeight.Quantize(Dense(dense), n, k, outliers);
    }

    /// <summary>The fused linear layer through int8 arithmetic (see Int8Gemm).</summary>
    private static void LinearInt8(Tensor x, Int8PackedWeight w, Tensor? bias, Tensor y, GemmEpilogue epilogue)
    {
        var k = x.Shape[1];
        if (k != w.K || y.Shape[1] != w.N)
        {
            throw new ShapeMismatchException("linear_int8", x.Shape, y.Shape, $"int8 weight is [{w.N}, {w.K}]");
        }
        fixed (float* xp = Cpu(x).Floats, yp = Cpu(y).Floats, bp = bias is null ? null : Cpu(bias).Floats)
        {
            Int8Gemm.Linear(Int8Kernel.Default, x.Shape[0], xp + x.Offset, k, w, bias is null ? null : bp + bias.Offset, epilogue,
                yp + y.Offset, y.Shape[1]);
        }
    }

    /// <summary>A compressed bf16 / int8 weight is widened while the sgemm packs it: never widened by the op layer.</summary>
    public bool ReadsLinearWeightInPlace(Tensor weight) => IsCompressedLinearWeight(weight) || weight.LinearComputeForm is not null;

    /// <summary>The sgemm reads a view with one unit stride in its last two axes; other views are made dense first.</summary>
    public bool ReadsGemmOperandInPlace(Tensor t) => IsGemmOperand(t);

    /// <summary>Weight files' bf16 / int8 linear weights stay compressed in memory (the sgemm widens them while packing).</summary>
    public LinearWeightPlacement LinearWeightPlacement => LinearWeightPlacement.CompressedAsStored;

    /// <summary>
    /// True for a weight the CPU linear layer reads without widening it first: a contiguous 2-D BF16 matrix, or an I8
    /// matrix with its channel scales. Every other non-F32 weight is widened to F32 by the op layer.
    /// </summary>
    public static bool IsCompressedLinearWeight(Tensor weight) =>
        weight.Storage is CpuStorage && weight.Rank == 2 && weight.IsContiguous
        && (weight.DType == DType.BF16 || (weight.DType == DType.I8 && weight.ChannelScales is { IsContiguous: true, DType: DType.F32 }));

    /// <summary>The fused linear layer on a bf16 / int8 weight: the sgemm widens W while packing it (weights stay compressed in memory).</summary>
    private static void LinearCompressedWeight(Tensor x, Tensor weight, Tensor? bias, Tensor y, GemmEpilogue epilogue)
    {
        var rows = x.Shape[0];
        var k = x.Shape[1];
        var n = y.Shape[1];
        var storage = Cpu(weight);
        var int8 = weight.DType == DType.I8;
        fixed (float* xp = Cpu(x).Floats, yp = Cpu(y).Floats, bp = bias is null ? null : Cpu(bias).Floats)
        fixed (ushort* halves = storage.Halves)
        fixed (sbyte* bytes = storage.SBytes)
        fixed (float* scales = int8 ? Cpu(weight.ChannelScales!).Floats : null)
        {
            var biasPtr = bias is null ? null : bp + bias.Offset;
            void* w = int8 ? bytes + weight.Offset : halves + weight.Offset;
            var scalePtr = int8 ? scales + weight.ChannelScales!.Offset : null;
            Sgemm.MultiplyCompressedWeight(rows, n, k, xp + x.Offset, Math.Max(1, k), int8 ? WeightEncoding.Int8 : WeightEncoding.BFloat16,
                w, scalePtr, yp + y.Offset, Math.Max(1, n), epilogue, biasPtr);
        }
    }
}
