// Tests of Ops.Embedding: exact gather, F16 tables, id range errors, deterministic scatter-add gradient, shape errors.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class EmbeddingTests
{
    [Theory]
    [InlineData(1, 1, new[] { 1 })]
    [InlineData(11, 7, new[] { 2, 5 })]
    [InlineData(97, 13, new[] { 3, 1, 17 })]
    public void GathersRowsExactly(int vocab, int d, int[] idsShape)
    {
        using var w = TestTensors.Uniform([vocab, d], 61);
        var count = (int)Shapes.Numel(idsShape);
        var ids = new int[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = (i * 7 + 3) % vocab;
        }
        using var idsT = Tensor.FromInts(ids, idsShape);
        using var y = Ops.Embedding(w, idsT);
        Assert.Equal([.. idsShape, d], y.Shape.ToArray());
        var wv = w.ToArray();
        var expected = new double[count * d];
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < d; j++)
            {
                expected[i * d + j] = wv[ids[i] * d + j];
            }
        }
        // a gather is a copy: exact
        GradientCheck.AssertClose(expected, y.ToArray(), 0, 0, "embedding");
    }

    [Fact]
    public void HalfPrecisionTableIsWidenedPerRow()
    {
        using var w = TestTensors.Uniform([9, 5], 62);
        using var w16 = Ops.Cast(w, DType.F16);
        using var ids = Tensor.FromInts([8, 0, 8], [3]);
        var y = Ops.Embedding(w16, ids).ToArray();
        var wv = w.ToArray();
        for (var j = 0; j < 5; j++)
        {
            // the value that survives an f16 round trip
            Assert.Equal((float)(Half)wv[8 * 5 + j], y[j]);
            Assert.Equal((float)(Half)wv[j], y[5 + j]);
        }
    }

    [Fact]
    public void OutOfRangeIdNamesIdIndexAndVocabulary()
    {
        using var w = TestTensors.Uniform([10, 4], 63);
        using var ids = Tensor.FromInts([1, 2, 10, 3], [2, 2]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(w, ids));
        Assert.Contains("id 10", e.Message);
        Assert.Contains("index 2", e.Message);
        Assert.Contains("V=10", e.Message);
        using var negative = Tensor.FromInts([-1], [1]);
        Assert.Contains("id -1", Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(w, negative)).Message);
    }

    [Fact]
    public void GradientScatterAddsRepeatedIds()
    {
        using var w = TestTensors.Uniform([7, 3], 64, requiresGrad: true);
        using var ids = Tensor.FromInts([2, 5, 2, 2, 0], [5]);
        GradientCheck.Check(t => Ops.Embedding(t[0], ids), [w]);
        // Exact comparison with a naive scatter of a known upstream gradient.
        w.ZeroGrad();
        using (var y = Ops.Embedding(w, ids))
        using (var g = TestTensors.Uniform([5, 3], 65))
        {
            y.Backward(g);
            var gv = g.ToArray();
            var expected = new double[21];
            int[] idv = [2, 5, 2, 2, 0];
            for (var i = 0; i < 5; i++)
            {
                for (var j = 0; j < 3; j++)
                {
                    expected[idv[i] * 3 + j] += gv[i * 3 + j];
                }
            }
            // three float additions per element at most: within float rounding of the double sum
            GradientCheck.AssertClose(expected, w.Grad!.ToArray(), 1e-6, 1e-6, "embedding grad");
        }
    }

    [Fact]
    public void FrozenTableRecordsNothing()
    {
        using var w = TestTensors.Uniform([7, 3], 66);
        using var ids = Tensor.FromInts([1], [1]);
        using var y = Ops.Embedding(w, ids);
        Assert.False(y.RequiresGrad);
    }

    [Fact]
    public void BadShapesNameOpAndShapes()
    {
        using var w = TestTensors.Uniform([7], 67);
        using var ids = Tensor.FromInts([1, 2], [2]);
        ShapeErrorAssert.Throws("embedding", () => Ops.Embedding(w, ids), "[7]", "[2]");
        using var w2 = TestTensors.Uniform([7, 3], 68);
        using var floatIds = TestTensors.Uniform([2], 69);
        ShapeErrorAssert.Throws("embedding", () => Ops.Embedding(w2, floatIds), "[2]", "f32");
    }
}
