// Merges the axes of up to three same-shaped strided views so that the strided kernels see the fewest dimensions.
namespace VcpNative.Tensors.Cuda;

/// <summary>
/// The shape and per-operand strides of a strided kernel launch, at most <see cref="MaxRank"/> dimensions, padded
/// in front with size-1 axes. Size-1 axes are dropped and neighbouring axes merged when every operand steps through
/// them as one (stride[d] == stride[d+1] * size[d+1]), so a dense copy becomes rank 1 and a transpose rank 2.
/// </summary>
internal ref struct StridedLayout
{
    public const int MaxRank = 6;

    /// <summary>Dims d0..d5 (outermost first).</summary>
    public Span<int> Dims;

    /// <summary>Strides of operand k at [k * MaxRank + d].</summary>
    public Span<long> Strides;

    public StridedLayout(Span<int> dims, Span<long> strides)
    {
        Dims = dims;
        Strides = strides;
    }

    /// <summary>Fills the layout; false when more than <see cref="MaxRank"/> dimensions remain after merging.</summary>
    public bool TryBuild(ReadOnlySpan<int> shape, ReadOnlySpan<long> s0, ReadOnlySpan<long> s1, ReadOnlySpan<long> s2, int operands)
    {
        Span<int> mergedDims = stackalloc int[shape.Length];
        Span<long> merged = stackalloc long[3 * Math.Max(1, shape.Length)];
        var rank = 0;
        // Walk from the innermost axis outwards, growing the current (outermost so far) merged axis when possible.
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 1)
            {
                continue;
            }
            if (rank > 0)
            {
                var g = rank - 1;
                var size = (long)mergedDims[g];
                var mergeable = size * shape[d] <= int.MaxValue;
                for (var k = 0; k < operands && mergeable; k++)
                {
                    mergeable = Stride(k, s0, s1, s2)[d] == merged[k * shape.Length + g] * size;
                }
                if (mergeable)
                {
                    mergedDims[g] *= shape[d];
                    continue;
                }
            }
            mergedDims[rank] = shape[d];
            for (var k = 0; k < operands; k++)
            {
                merged[k * shape.Length + rank] = Stride(k, s0, s1, s2)[d];
            }
            rank++;
        }
        if (rank > MaxRank)
        {
            return false;
        }
        Dims.Fill(1);
        Strides.Clear();
        // merged[] is innermost-first; the kernels want outermost-first, right-aligned in six slots.
        for (var g = 0; g < rank; g++)
        {
            var slot = MaxRank - 1 - g;
            Dims[slot] = mergedDims[g];
            for (var k = 0; k < operands; k++)
            {
                Strides[k * MaxRank + slot] = merged[k * shape.Length + g];
            }
        }
        return true;
    }

    private static ReadOnlySpan<long> Stride(int k, ReadOnlySpan<long> s0, ReadOnlySpan<long> s1, ReadOnlySpan<long> s2) =>
        k == 0 ? s0 : k == 1 ? s1 : s2;
}
