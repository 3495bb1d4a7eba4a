// Walks a strided view row by row (all axes but the last), the access pattern of every CPU kernel on views.
namespace VcpNative.Tensors.Cpu;

/// <summary>Offsets of the rows of a strided tensor; the last axis is the contiguous-or-strided inner loop.</summary>
internal readonly struct RowIterator
{
    private readonly int[] shape;
    private readonly long[] strides;
    private readonly long offset;

    public RowIterator(Tensor t)
    {
        shape = t.ShapeArray;
        strides = t.StridesArray;
        offset = t.Offset;
        InnerLength = t.Rank == 0 ? 1 : shape[^1];
        InnerStride = t.Rank == 0 ? 1 : strides[^1];
        Rows = InnerLength == 0 ? 0 : (int)(t.Numel / InnerLength);
    }

    public int Rows { get; }

    public int InnerLength { get; }

    public long InnerStride { get; }

    public long RowOffset(int row)
    {
        var o = offset;
        var rem = row;
        for (var d = shape.Length - 2; d >= 0; d--)
        {
            var size = shape[d];
            o += rem % size * strides[d];
            rem /= size;
        }
        return o;
    }
}
