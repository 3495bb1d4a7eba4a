// Tests of Ops.TopK: order and ties against a full stable sort, NaN order, large maps, gradient scatter, shape errors.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class TopKTests
{
    /// <summary>Independent reference: sort every index of a row by (value best-first, index ascending), take k.</summary>
    private static int[] ReferenceIndices(float[] row, int k, bool largest)
    {
        var order = new int[row.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        Array.Sort(order, (a, b) =>
        {
            var c = CompareBestFirst(row[a], row[b], largest);
            return c != 0 ? c : a.CompareTo(b);
        });
        return order[..k];
    }

    // NaN ranks above every number; -0 == +0.
    private static int CompareBestFirst(float a, float b, bool largest)
    {
        if (float.IsNaN(a) || float.IsNaN(b))
        {
            var rankA = float.IsNaN(a) ? 1 : 0;
            var rankB = float.IsNaN(b) ? 1 : 0;
            return largest ? rankB.CompareTo(rankA) : rankA.CompareTo(rankB);
        }
        if (a == b)
        {
            return 0;
        }
        return largest ? b.CompareTo(a) : a.CompareTo(b);
    }

    private static void AssertMatchesReference(float[] data, int rows, int n, int k, bool largest)
    {
        using var x = Tensor.FromArray(data, [rows, n]);
        var (values, indices) = Ops.TopK(x, k, largest);
        using (values)
        using (indices)
        {
            Assert.Equal([rows, k], values.Shape.ToArray());
            Assert.Equal(DType.I32, indices.DType);
            var v = values.ToArray();
            var idx = indices.ToArray();
            for (var r = 0; r < rows; r++)
            {
                var expected = ReferenceIndices(data.AsSpan(r * n, n).ToArray(), k, largest);
                for (var j = 0; j < k; j++)
                {
                    // indices are exact; values are copies of the input
                    Assert.Equal(expected[j], (int)idx[r * k + j]);
                    Assert.Equal(data[r * n + expected[j]], v[r * k + j]);
                }
            }
        }
    }

    [Theory]
    [InlineData(1, 1, 1, true)]
    [InlineData(3, 7, 3, true)]
    [InlineData(3, 7, 7, false)]
    [InlineData(2, 97, 13, true)]
    [InlineData(5, 1031, 17, false)]
    [InlineData(4, 50, 0, true)]
    public void MatchesStableFullSort(int rows, int n, int k, bool largest)
    {
        var data = TestTensors.Uniform([rows, n], 91).ToArray();
        AssertMatchesReference(data, rows, n, k, largest);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TiesGoToLowerIndexAndNaNRanksHighest(bool largest)
    {
        // Few distinct values -> many ties across the selection boundary; plus NaN, infinities and signed zeros.
        var rng = new System.Random(5);
        var data = new float[3 * 211];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = rng.Next(5) - 2;
        }
        data[7] = float.NaN;
        data[300] = float.PositiveInfinity;
        data[301] = float.NegativeInfinity;
        data[302] = -0f;
        data[500] = float.NaN;
        AssertMatchesReference(data, 3, 211, 60, largest);
        AssertMatchesReference(data, 3, 211, 211, largest);
    }

    [Fact]
    public void FullMapOfCliPSizeMatchesSort()
    {
        // The image-score use: one 518x518 anomaly map, top 2000.
        var data = TestTensors.Uniform([1, 518 * 518], 92, 0f, 1f).ToArray();
        AssertMatchesReference(data, 1, 518 * 518, 2000, true);
    }

    [Fact]
    public void GradientScattersToSelectedPositions()
    {
        using var x = TestTensors.Uniform([3, 11], 93, requiresGrad: true);
        GradientCheck.Check(t =>
        {
            var (v, i) = Ops.TopK(t[0], 4);
            i.Dispose();
            return v;
        }, [x]);
        using var x2 = TestTensors.Uniform([2, 7], 94, requiresGrad: true);
        GradientCheck.Check(t =>
        {
            var (v, i) = Ops.TopK(t[0], 7, largest: false);
            i.Dispose();
            return v;
        }, [x2]);
    }

    [Fact]
    public void BadKNamesOpAndShape()
    {
        using var x = TestTensors.Uniform([3, 5], 1);
        ShapeErrorAssert.Throws("topk", () => Ops.TopK(x, 6), "[3,5]", "k=6");
        ShapeErrorAssert.Throws("topk", () => Ops.TopK(x, -1), "[3,5]", "k=-1");
    }
}
