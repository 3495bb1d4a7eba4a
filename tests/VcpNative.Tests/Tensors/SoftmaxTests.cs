// Tests of Ops.Softmax: float64 reference with additive and causal masks, NaN rows, gradients, shape errors.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class SoftmaxTests
{
    /// <summary>Softmax of x + mask (mask already expanded to x) with optional causal cut, in float64.</summary>
    private static double[] Reference(float[] x, float[]? mask, int n, int queries, bool causal)
    {
        var y = new double[x.Length];
        for (var r = 0; r < x.Length / n; r++)
        {
            var visible = causal ? Math.Min(n, r % queries + 1) : n;
            var max = double.NegativeInfinity;
            for (var j = 0; j < visible; j++)
            {
                max = Math.Max(max, x[r * n + j] + (double)(mask?[r * n + j] ?? 0f));
            }
            double sum = 0;
            for (var j = 0; j < visible; j++)
            {
                sum += Math.Exp(x[r * n + j] + (double)(mask?[r * n + j] ?? 0f) - max);
            }
            for (var j = 0; j < n; j++)
            {
                y[r * n + j] = j < visible ? Math.Exp(x[r * n + j] + (double)(mask?[r * n + j] ?? 0f) - max) / sum : 0;
            }
        }
        return y;
    }

    private static float[] Expanded(Tensor mask, ReadOnlySpan<int> shape)
    {
        using var e = Ops.Expand(mask, shape);
        return e.ToArray();
    }

    [Theory]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 3, 7 })]
    [InlineData(new[] { 2, 3, 5, 13 })]
    [InlineData(new[] { 4, 1031 })]
    public void MatchesFloat64Reference(int[] shape)
    {
        // Logits up to +-60 would overflow exp without the max subtraction.
        using var x = TestTensors.Uniform(shape, 41, -60f, 60f);
        using var y = Ops.Softmax(x);
        // probabilities <= 1; float32 exp and normalisation are accurate to a few ulps
        GradientCheck.AssertClose(Reference(x.ToArray(), null, shape[^1], shape.Length > 1 ? shape[^2] : 1, false), y.ToArray(), 1e-6, 1e-5, "softmax");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MaskAndCausalMatchReference(bool causal)
    {
        using var x = TestTensors.Uniform([2, 3, 5, 5], 42, -3f, 3f);
        var m = new float[25];
        var rng = new System.Random(3);
        for (var i = 0; i < m.Length; i++)
        {
            m[i] = i % 6 == 1 ? float.NegativeInfinity : (float)rng.NextDouble();
        }
        using var mask = Tensor.FromArray(m, [5, 5]);
        using var y = Ops.Softmax(x, mask, causal);
        GradientCheck.AssertClose(Reference(x.ToArray(), Expanded(mask, x.Shape), 5, 5, causal), y.ToArray(), 1e-6, 1e-5, "masked softmax");
        using var maskRow = Tensor.FromArray(m.AsSpan(0, 5), [5]);
        using var y2 = Ops.Softmax(x, maskRow, causal);
        GradientCheck.AssertClose(Reference(x.ToArray(), Expanded(maskRow, x.Shape), 5, 5, causal), y2.ToArray(), 1e-6, 1e-5, "row-mask softmax");
        // A mask broadcast along the last axis (stride 0 inner) adds a per-row constant: softmax is unchanged.
        using var maskCol = Tensor.FromArray([0.5f, -2f, 3f, 0f, 1f], [5, 1]);
        using var y3 = Ops.Softmax(x, maskCol, causal);
        GradientCheck.AssertClose(Reference(x.ToArray(), Expanded(maskCol, x.Shape), 5, 5, causal), y3.ToArray(), 1e-6, 1e-5, "column-mask softmax");
    }

    [Fact]
    public void NonSquareCausalUsesTopLeftAlignment()
    {
        using var x = TestTensors.Uniform([3, 7], 43);
        using var y = Ops.Softmax(x, null, causal: true);
        GradientCheck.AssertClose(Reference(x.ToArray(), null, 7, 3, true), y.ToArray(), 1e-6, 1e-5, "causal [3,7]");
    }

    [Fact]
    public void FullyMaskedRowIsNaNLikePyTorch()
    {
        using var x = TestTensors.Uniform([2, 3], 44);
        using var mask = Tensor.FromArray([float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 0, 0, 0], [2, 3]);
        var y = Ops.Softmax(x, mask).ToArray();
        Assert.All(y[..3], v => Assert.True(float.IsNaN(v)));
        Assert.All(y[3..], v => Assert.False(float.IsNaN(v)));
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var x = TestTensors.Uniform([2, 3, 5], 45, -2f, 2f, requiresGrad: true);
        using var mask = TestTensors.Uniform([3, 5], 46, -1f, 1f, requiresGrad: true);
        GradientCheck.Check(t => Ops.Softmax(t[0]), [x], eps: 1e-3f);
        GradientCheck.Check(t => Ops.Softmax(t[0], t[1]), [x, mask], eps: 1e-3f);
        using var x2 = TestTensors.Uniform([2, 5, 5], 47, -2f, 2f, requiresGrad: true);
        using var fixedMask = TestTensors.Uniform([5], 48, -1f, 1f);
        GradientCheck.Check(t => Ops.Softmax(t[0], t[1], causal: true), [x2, fixedMask], eps: 1e-3f);
    }

    [Fact]
    public void BadShapesNameOpAndShapes()
    {
        using var x = TestTensors.Uniform([3, 5], 1);
        using var mask = TestTensors.Uniform([4], 2);
        ShapeErrorAssert.Throws("softmax", () => Ops.Softmax(x, mask), "[3,5]", "[4]");
        using var big = TestTensors.Uniform([2, 3, 5], 3);
        ShapeErrorAssert.Throws("softmax", () => Ops.Softmax(x, big), "[3,5]", "[2,3,5]");
        using var v = TestTensors.Uniform([5], 4);
        ShapeErrorAssert.Throws("softmax", () => Ops.Softmax(v, null, causal: true), "[5]");
    }
}
