// Tests of Ops.L2Normalize: float64 reference, zero rows (NaN, no epsilon), gradients, shape errors.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class L2NormalizeTests
{
    private static double[] Reference(float[] x, int d)
    {
        var y = new double[x.Length];
        for (var r = 0; r < x.Length / d; r++)
        {
            double s = 0;
            for (var j = 0; j < d; j++)
            {
                s += (double)x[r * d + j] * x[r * d + j];
            }
            for (var j = 0; j < d; j++)
            {
                y[r * d + j] = x[r * d + j] / Math.Sqrt(s);
            }
        }
        return y;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(13, 768)]
    [InlineData(2, 1031)]
    public void MatchesFloat64Reference(int rows, int d)
    {
        using var x = TestTensors.Uniform([rows, d], 51, -3f, 3f);
        using var y = Ops.L2Normalize(x);
        // unit-norm outputs; one float rounding of the norm and one of the division
        GradientCheck.AssertClose(Reference(x.ToArray(), d), y.ToArray(), 1e-7, 1e-6, "l2_normalize");
    }

    [Fact]
    public void ZeroRowGivesNaNBecauseThereIsNoEpsilon()
    {
        using var x = Tensor.FromArray([0f, 0f, 3f, 4f], [2, 2]);
        var y = Ops.L2Normalize(x).ToArray();
        Assert.True(float.IsNaN(y[0]) && float.IsNaN(y[1]));
        Assert.Equal(0.6f, y[2]);
        Assert.Equal(0.8f, y[3]);
    }

    [Theory]
    [InlineData(3, 7)]
    [InlineData(1, 1)]
    [InlineData(2, 9)]
    public void GradientsMatchFiniteDifferences(int rows, int d)
    {
        using var x = TestTensors.Uniform([rows, d], 52, 0.2f, 2f, requiresGrad: true);
        GradientCheck.Check(t => Ops.L2Normalize(t[0]), [x], eps: 1e-3f);
    }

    [Fact]
    public void BadShapesNameOpAndShapes()
    {
        using var s = Tensor.Scalar(2f);
        ShapeErrorAssert.Throws("l2_normalize", () => Ops.L2Normalize(s), "[]");
    }
}
