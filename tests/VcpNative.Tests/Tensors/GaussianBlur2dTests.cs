// Tests of the scipy-compatible reflect-mode Gaussian blur: float64 reference, scipy fixtures, adjoint gradient, shapes.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class GaussianBlur2dTests
{
    [Theory]
    [InlineData(1, 1, 1, 1.0f)]
    [InlineData(1, 5, 7, 3.0f)]
    [InlineData(2, 13, 17, 2.0f)]
    [InlineData(1, 40, 37, 8.0f)]
    [InlineData(3, 1, 29, 1.3f)]
    public void MatchesFloat64Reference(int n, int h, int w, float sigma)
    {
        using var x = TestTensors.Uniform([n, h, w], 21, 0f, 1f);
        using var y = Ops.GaussianBlur2d(x, sigma);
        var expected = NaiveGaussian(x.ToArray(), n, h, w, sigma, 4.0);
        // each of the two passes rounds to float32 once (values in [0, 1])
        GradientCheck.AssertClose(expected, y.ToArray(), 2e-7, 0, "gaussian");
    }

    [Fact]
    public void Rank2InputAndStridedView()
    {
        using var x = TestTensors.Uniform([9, 12], 22);
        using var y = Ops.GaussianBlur2d(x, 2f, 3f);
        Assert.Equal([9, 12], y.Shape.ToArray());
        GradientCheck.AssertClose(NaiveGaussian(x.ToArray(), 1, 9, 12, 2f, 3f), y.ToArray(), 2e-7, 0, "rank2");
        using var xt = Ops.Transpose(x, 0, 1);
        using var yt = Ops.GaussianBlur2d(xt, 2f, 3f);
        using var dense = Ops.CopyOf(xt);
        using var yd = Ops.GaussianBlur2d(dense, 2f, 3f);
        Assert.Equal(yd.ToArray(), yt.ToArray());
    }

    [Theory]
    [InlineData("gaussian_s3_2x40x33")]
    [InlineData("gaussian_s8_1x48x40")]
    [InlineData("gaussian_s3_radius_exceeds_1x5x7")]
    [InlineData("gaussian_s1p5_t2_1x1x9")]
    public void MatchesScipyGoldenFixture(string name)
    {
        var fixture = ResampleFixture.Load(name);
        using var x = Tensor.FromArray(fixture.Input, fixture.InputShape);
        var sigma = (float)fixture.Params.GetProperty("sigma").GetDouble();
        var truncate = (float)fixture.Params.GetProperty("truncate").GetDouble();
        using var y = Ops.GaussianBlur2d(x, sigma, truncate);
        // scipy also accumulates in float64 and rounds each pass to float32; only summation order differs
        GradientCheck.AssertClose(ResampleFixture.ToDouble(fixture.Output), y.ToArray(), 1e-6, 0, name);
    }

    [Fact]
    public void GradientIsTheAdjoint()
    {
        using var x = TestTensors.Uniform([2, 5, 6], 23, requiresGrad: true);
        GradientCheck.Check(t => Ops.GaussianBlur2d(t[0], 1.5f), [x]);
        using var small = TestTensors.Uniform([1, 3, 2], 24, requiresGrad: true);
        // radius 8 > size: repeated reflections fold many taps onto each sample
        GradientCheck.Check(t => Ops.GaussianBlur2d(t[0], 2f), [small]);
    }

    [Fact]
    public void BadShapesThrowNamingOpAndShape()
    {
        using var x = TestTensors.Uniform([7], 1);
        var e = Assert.Throws<ShapeMismatchException>(() => Ops.GaussianBlur2d(x, 8f));
        Assert.Contains("gaussian_blur2d", e.Message);
        Assert.Contains("[7]", e.Message);
        using var img = TestTensors.Uniform([3, 3], 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.GaussianBlur2d(img, 0f));
    }

    /// <summary>Direct 2-D correlation in float64 with scipy's 'reflect' extension applied by repeated mirroring.</summary>
    private static double[] NaiveGaussian(float[] x, int n, int h, int w, double sigma, double truncate)
    {
        var r = (int)(truncate * sigma + 0.5);
        var k = new double[2 * r + 1];
        double sum = 0;
        for (var i = -r; i <= r; i++)
        {
            k[i + r] = Math.Exp(-0.5 * i * i / (sigma * sigma));
            sum += k[i + r];
        }
        var result = new double[n * h * w];
        for (var p = 0; p < n; p++)
        {
            for (var i = 0; i < h; i++)
            {
                for (var j = 0; j < w; j++)
                {
                    double s = 0;
                    for (var a = -r; a <= r; a++)
                    {
                        for (var b = -r; b <= r; b++)
                        {
                            s += k[a + r] * k[b + r] / (sum * sum) * x[(p * h + Mirror(i + a, h)) * w + Mirror(j + b, w)];
                        }
                    }
                    result[(p * h + i) * w + j] = s;
                }
            }
        }
        return result;
    }

    private static int Mirror(int i, int n)
    {
        // d c b a | a b c d | d c b a, unfolded one reflection at a time
        while (i < 0 || i >= n)
        {
            i = i < 0 ? -i - 1 : 2 * n - 1 - i;
        }
        return i;
    }
}
