// Tests of Ops.LayerNorm: float64 reference, gradient checks (including frozen affine), odd shapes, shape errors.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class LayerNormTests
{
    private static double[] Reference(float[] x, int d, float[]? gamma, float[]? beta, double eps)
    {
        var y = new double[x.Length];
        for (var r = 0; r < x.Length / d; r++)
        {
            double mean = 0;
            for (var j = 0; j < d; j++)
            {
                mean += x[r * d + j];
            }
            mean /= d;
            double variance = 0;
            for (var j = 0; j < d; j++)
            {
                variance += (x[r * d + j] - mean) * (x[r * d + j] - mean);
            }
            variance /= d;
            for (var j = 0; j < d; j++)
            {
                var v = (x[r * d + j] - mean) / Math.Sqrt(variance + eps);
                y[r * d + j] = v * (gamma?[j] ?? 1.0) + (beta?[j] ?? 0.0);
            }
        }
        return y;
    }

    [Theory]
    [InlineData(1, 1, 1e-5f)]
    [InlineData(3, 7, 1e-5f)]
    [InlineData(5, 13, 1e-6f)]
    [InlineData(2, 1031, 1e-5f)]
    [InlineData(37, 768, 1e-6f)]
    public void MatchesFloat64Reference(int rows, int d, float eps)
    {
        // Offset 50 with spread 2 stresses the variance computation (a naive E[x^2]-E[x]^2 in float would fail).
        using var x = TestTensors.Uniform([rows, d], 11, 49f, 51f);
        using var gamma = TestTensors.Uniform([d], 12, 0.5f, 1.5f);
        using var beta = TestTensors.Uniform([d], 13, -1f, 1f);
        using var y = Ops.LayerNorm(x, gamma, beta, eps);
        Assert.Equal(x.Shape.ToArray(), y.Shape.ToArray());
        // Outputs are O(1..3); float32 rounding of (x - mean) * rstd * gamma + beta stays well under 1e-5.
        GradientCheck.AssertClose(Reference(x.ToArray(), d, gamma.ToArray(), beta.ToArray(), eps), y.ToArray(), 1e-5, 0, "layer_norm");
        using var plain = Ops.LayerNorm(x, null, null, eps);
        GradientCheck.AssertClose(Reference(x.ToArray(), d, null, null, eps), plain.ToArray(), 1e-5, 0, "layer_norm(no affine)");
    }

    [Fact]
    public void StridedInputIsHandled()
    {
        using var x = TestTensors.Uniform([6, 5], 14);
        using var xt = Ops.Transpose(x, 0, 1);
        using var y = Ops.LayerNorm(xt, null, null, 1e-5f);
        using var dense = Ops.CopyOf(xt);
        // same float math on the same values once made dense
        GradientCheck.AssertClose(Reference(dense.ToArray(), 6, null, null, 1e-5), y.ToArray(), 1e-5, 0, "layer_norm(strided)");
    }

    [Theory]
    [InlineData(3, 7)]
    [InlineData(2, 8)]
    [InlineData(1, 3)]
    public void GradientsMatchFiniteDifferences(int rows, int d)
    {
        using var x = TestTensors.Uniform([rows, d], 21, -2f, 2f, requiresGrad: true);
        using var gamma = TestTensors.Uniform([d], 22, 0.5f, 1.5f, requiresGrad: true);
        using var beta = TestTensors.Uniform([d], 23, -1f, 1f, requiresGrad: true);
        GradientCheck.Check(t => Ops.LayerNorm(t[0], t[1], t[2], 1e-5f), [x, gamma, beta], eps: 1e-3f);
        GradientCheck.Check(t => Ops.LayerNorm(t[0], null, null, 1e-5f), [x], eps: 1e-3f);
    }

    [Fact]
    public void FrozenAffineGetsNoGradientAndInputStillDoes()
    {
        using var x = TestTensors.Uniform([4, 9], 31, -2f, 2f, requiresGrad: true);
        using var gamma = TestTensors.Uniform([9], 32, 0.5f, 1.5f);
        using var beta = TestTensors.Uniform([9], 33, -1f, 1f, requiresGrad: true);
        GradientCheck.Check(t => Ops.LayerNorm(t[0], t[1], t[2], 1e-5f), [x, gamma, beta], eps: 1e-3f);
        using var x2 = TestTensors.Uniform([4, 9], 34, -2f, 2f);
        using var gamma2 = TestTensors.Uniform([9], 35, 0.5f, 1.5f, requiresGrad: true);
        GradientCheck.Check(t => Ops.LayerNorm(t[0], t[1], null, 1e-5f), [x2, gamma2], eps: 1e-3f);
    }

    [Fact]
    public void BadShapesNameOpAndShapes()
    {
        using var x = TestTensors.Uniform([3, 7], 1);
        using var gamma = TestTensors.Uniform([5], 2);
        ShapeErrorAssert.Throws("layer_norm", () => Ops.LayerNorm(x, gamma, null, 1e-5f), "[3,7]", "[5]", "gamma");
        ShapeErrorAssert.Throws("layer_norm", () => Ops.LayerNorm(x, null, gamma, 1e-5f), "[3,7]", "[5]", "beta");
        using var s = Tensor.Scalar(1f);
        ShapeErrorAssert.Throws("layer_norm", () => Ops.LayerNorm(s, null, null, 1e-5f), "[]");
    }
}
