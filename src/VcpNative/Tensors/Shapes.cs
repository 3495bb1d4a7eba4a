// Shape arithmetic shared by every op: element counts, strides, broadcasting, formatting.
namespace VcpNative.Tensors;

/// <summary>Pure functions on shapes (int[] dimensions, long[] strides in elements).</summary>
public static class Shapes
{
    /// <summary>Number of elements of <paramref name="shape"/> (1 for a scalar).</summary>
    public static long Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            n *= d;
        }
        return n;
    }

    /// <summary>Row-major strides, in elements, of a contiguous tensor of <paramref name="shape"/>.</summary>
    public static long[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    /// <summary>The shape as "[a,b,c]".</summary>
    public static string Format(ReadOnlySpan<int> shape)
    {
        var sb = new System.Text.StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            sb.Append(shape[i]);
        }
        return sb.Append(']').ToString();
    }

    /// <summary>NumPy broadcasting of two shapes; throws naming <paramref name="op"/> when they cannot broadcast.</summary>
    public static int[] Broadcast(string op, ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                throw new ShapeMismatchException(op, a, b, "shapes cannot be broadcast together");
            }
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>True when both shapes have the same rank and sizes.</summary>
    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>Normalises a possibly negative axis against <paramref name="rank"/>.</summary>
    public static int Axis(string op, int axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw new ShapeMismatchException(op, $"axis {axis} out of range for rank {rank}");
        }
        return a;
    }
}
