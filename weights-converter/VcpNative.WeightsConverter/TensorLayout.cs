// Shape/stride arithmetic shared by the readers: element counts, contiguity, bounds, and gathering strided views.
namespace VcpNative.WeightsConverter;

internal static class TensorLayout
{
    public static long ElementCount(long[] shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension {d}");
            count = checked(count * d);
        }
        return count;
    }

    public static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }
        return strides;
    }

    public static bool IsContiguous(long[] shape, long[] strides)
    {
        long expected = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            // Size-1 dims may carry any stride (PyTorch does not normalise them).
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /// <summary>Number of storage elements the view touches past its offset: 1 + max linear index (0 when empty).</summary>
    public static long ExtentElements(long[] shape, long[] strides)
    {
        long last = 0;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 0) return 0;
            last = checked(last + (shape[i] - 1) * strides[i]);
        }
        return last + 1;
    }

    /// <summary>Copies a strided view into a new contiguous row-major byte array.</summary>
    public static byte[] Gather(ReadOnlySpan<byte> storage, int elementSize, long[] shape, long[] strides, long storageOffset)
    {
        var count = ElementCount(shape);
        var result = new byte[checked(count * elementSize)];
        if (count == 0) return result;
        var rank = shape.Length;
        var index = new long[rank];
        var source = storageOffset;
        var target = 0;
        // Odometer over the view: innermost index runs fastest, the source offset is updated incrementally.
        for (long n = 0; n < count; n++)
        {
            storage.Slice(checked((int)(source * elementSize)), elementSize).CopyTo(result.AsSpan(target, elementSize));
            target += elementSize;
            for (var d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                {
                    source += strides[d];
                    break;
                }
                source -= (shape[d] - 1) * strides[d];
                index[d] = 0;
            }
        }
        return result;
    }
}
