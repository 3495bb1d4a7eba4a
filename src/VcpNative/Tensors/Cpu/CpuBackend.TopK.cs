// CPU top-k along the last axis: quickselect on packed (value rank, index) keys, then a sort of only the k winners.
namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    // Ranges at most this long are finished by insertion sort inside the selection.
    private const int SelectInsertionThreshold = 16;

    /// <inheritdoc/>
    public void TopKForward(Tensor x, int k, bool largest, Tensor values, Tensor indices)
    {
        var n = x.Shape[^1];
        var rows = LastAxisRows(x, n);
        var (xa, xo) = DenseArray(x);
        var (va, vo) = DenseArray(values);
        var ia = Cpu(indices).Ints;
        var io = (int)indices.Offset;
        var pool = Pool;
        CpuParallel.ForRange(rows, (start, end) =>
        {
            var keys = pool.Rent<long>(n, zero: false);
            for (var r = start; r < end; r++)
            {
                var row = xa.AsSpan(xo + r * n, n);
                var packed = keys.AsSpan(0, n);
                for (var j = 0; j < n; j++)
                {
                    packed[j] = PackTopKKey(row[j], j, largest);
                }
                SelectLargest(packed, k);
                var winners = packed[..k];
                winners.Sort();
                for (var j = 0; j < k; j++)
                {
                    // Ascending sort: the best key is last.
                    var index = ~(int)winners[k - 1 - j];
                    ia[io + r * k + j] = index;
                    va[vo + r * k + j] = row[index];
                }
            }
            pool.Return(keys);
        }, minChunk: RowsPerChunk(n, 65536));
    }

    /// <summary>
    /// A 64-bit key whose order is the wanted order: high half = order-preserving integer image of the value (negated
    /// for smallest; NaN above every number; -0 equal to +0), low half = ~index so the lower index wins ties.
    /// </summary>
    private static long PackTopKKey(float v, int index, bool largest)
    {
        int rank;
        if (float.IsNaN(v))
        {
            rank = largest ? int.MaxValue : int.MinValue;
        }
        else
        {
            var bits = v == 0f ? 0 : BitConverter.SingleToInt32Bits(v);
            rank = bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
            if (!largest)
            {
                rank = ~rank;
            }
        }
        return ((long)rank << 32) | (uint)~index;
    }

    /// <summary>Reorders <paramref name="keys"/> so its first <paramref name="k"/> entries are the k largest (any order).</summary>
    private static void SelectLargest(Span<long> keys, int k)
    {
        if (k <= 0 || k >= keys.Length)
        {
            return;
        }
        var lo = 0;
        var hi = keys.Length - 1;
        // Guard against adversarial inputs: after ~2 log2(n) rounds fall back to sorting what remains.
        var budget = 2 * (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)keys.Length));
        while (hi - lo > SelectInsertionThreshold)
        {
            if (budget-- == 0)
            {
                keys[lo..(hi + 1)].Sort();
                keys[lo..(hi + 1)].Reverse();
                return;
            }
            // Median of three as pivot, Hoare partition into [>= pivot | <= pivot] (keys are distinct).
            var mid = lo + ((hi - lo) >> 1);
            var pivot = MedianOfThree(keys[lo], keys[mid], keys[hi]);
            var i = lo;
            var j = hi;
            while (i <= j)
            {
                while (keys[i] > pivot)
                {
                    i++;
                }
                while (keys[j] < pivot)
                {
                    j--;
                }
                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    i++;
                    j--;
                }
            }
            // Now [lo, j] >= pivot >= [i, hi], and anything between equals the pivot.
            if (k - 1 <= j)
            {
                hi = j;
            }
            else if (k - 1 >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
        // Insertion sort (descending) of the small remaining window places position k - 1 correctly.
        for (var a = lo + 1; a <= hi; a++)
        {
            var key = keys[a];
            var b = a - 1;
            while (b >= lo && keys[b] < key)
            {
                keys[b + 1] = keys[b];
                b--;
            }
            keys[b + 1] = key;
        }
    }

    private static long MedianOfThree(long a, long b, long c) =>
        a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);

    /// <inheritdoc/>
    public void TopKBackward(Tensor indices, Tensor gValues, Tensor gx)
    {
        var k = gValues.Shape[^1];
        var n = gx.Shape[^1];
        var rows = LastAxisRows(gValues, k);
        var (ga, go) = DenseArray(gValues);
        var (xa, xo) = DenseArray(gx);
        var ia = Cpu(indices).Ints;
        var io = (int)indices.Offset;
        // Indices within a row are distinct, so plain stores are the scatter-add.
        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < k; j++)
            {
                xa[xo + r * n + ia[io + r * k + j]] = ga[go + r * k + j];
            }
        }
    }
}
