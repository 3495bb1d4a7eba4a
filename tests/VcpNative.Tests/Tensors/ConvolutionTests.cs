// Tests of Ops.Conv2dPatch and Ops.Conv1d: direct-convolution float64 references, gradient checks, shape errors.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class ConvolutionTests
{
    /// <summary>Direct Conv2d, stride = kernel = p, no padding, PyTorch flooring.</summary>
    private static double[] PatchReference(float[] x, int b, int c, int h, int w, float[] wt, int o, int p, float[]? bias)
    {
        var (hp, wp) = (h / p, w / p);
        var y = new double[b * o * hp * wp];
        for (var bi = 0; bi < b; bi++)
        {
            for (var oi = 0; oi < o; oi++)
            {
                for (var i = 0; i < hp; i++)
                {
                    for (var j = 0; j < wp; j++)
                    {
                        double s = bias?[oi] ?? 0;
                        for (var ci = 0; ci < c; ci++)
                        {
                            for (var ky = 0; ky < p; ky++)
                            {
                                for (var kx = 0; kx < p; kx++)
                                {
                                    s += (double)x[((bi * c + ci) * h + i * p + ky) * w + j * p + kx] * wt[((oi * c + ci) * p + ky) * p + kx];
                                }
                            }
                        }
                        y[((bi * o + oi) * hp + i) * wp + j] = s;
                    }
                }
            }
        }
        return y;
    }

    /// <summary>Direct Conv1d, stride 1, zero padding.</summary>
    private static double[] Conv1dReference(float[] x, int b, int cin, int l, float[] wt, int cout, int k, int pad, float[]? bias)
    {
        var lout = l + 2 * pad - k + 1;
        var y = new double[b * cout * lout];
        for (var bi = 0; bi < b; bi++)
        {
            for (var oi = 0; oi < cout; oi++)
            {
                for (var t = 0; t < lout; t++)
                {
                    double s = bias?[oi] ?? 0;
                    for (var ci = 0; ci < cin; ci++)
                    {
                        for (var kk = 0; kk < k; kk++)
                        {
                            var pos = t + kk - pad;
                            if (pos >= 0 && pos < l)
                            {
                                s += (double)x[(bi * cin + ci) * l + pos] * wt[(oi * cin + ci) * k + kk];
                            }
                        }
                    }
                    y[(bi * cout + oi) * lout + t] = s;
                }
            }
        }
        return y;
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1, 1, true)]
    [InlineData(2, 3, 9, 11, 5, 4, true)]
    [InlineData(1, 3, 28, 29, 7, 14, false)]
    [InlineData(2, 2, 13, 13, 3, 3, true)]
    public void PatchConvMatchesDirectConvolution(int b, int c, int h, int w, int o, int p, bool withBias)
    {
        using var x = TestTensors.Uniform([b, c, h, w], 71);
        using var wt = TestTensors.Uniform([o, c, p, p], 72);
        using var bias = withBias ? TestTensors.Uniform([o], 73) : null;
        using var y = Ops.Conv2dPatch(x, wt, bias);
        Assert.Equal([b, o, h / p, w / p], y.Shape.ToArray());
        // sums of up to c*p*p = 588 products of magnitude <= 1 in float32: error ~ sqrt(588) * 6e-8 * 588 worst case
        GradientCheck.AssertClose(PatchReference(x.ToArray(), b, c, h, w, wt.ToArray(), o, p, bias?.ToArray()), y.ToArray(), 2e-5, 1e-5, "conv2d_patch");
    }

    [Fact]
    public void PatchConvGradients()
    {
        using var x = TestTensors.Uniform([2, 2, 5, 7], 74, requiresGrad: true);
        using var wt = TestTensors.Uniform([3, 2, 2, 2], 75, requiresGrad: true);
        using var bias = TestTensors.Uniform([3], 76, requiresGrad: true);
        GradientCheck.Check(t => Ops.Conv2dPatch(t[0], t[1], t[2]), [x, wt, bias]);
        // Frozen weight and no bias: only the input gradient is computed.
        using var frozen = TestTensors.Uniform([3, 2, 2, 2], 77);
        GradientCheck.Check(t => Ops.Conv2dPatch(t[0], t[1], null), [x, frozen]);
    }

    [Theory]
    [InlineData(2, 3, 7, 5, 3, 1, true)]
    [InlineData(1, 1, 768, 2, 3, 1, true)]
    [InlineData(2, 4, 6, 3, 1, 0, true)]
    [InlineData(3, 5, 11, 2, 1, 0, false)]
    [InlineData(1, 2, 9, 3, 5, 2, true)]
    [InlineData(2, 3, 8, 4, 2, 0, false)]
    [InlineData(1, 1, 1, 1, 1, 0, true)]
    [InlineData(1, 2, 2, 1, 3, 2, true)]
    public void Conv1dMatchesDirectConvolution(int b, int cin, int l, int cout, int k, int pad, bool withBias)
    {
        using var x = TestTensors.Uniform([b, cin, l], 81);
        using var wt = TestTensors.Uniform([cout, cin, k], 82);
        using var bias = withBias ? TestTensors.Uniform([cout], 83) : null;
        using var y = Ops.Conv1d(x, wt, bias, pad);
        Assert.Equal([b, cout, l + 2 * pad - k + 1], y.Shape.ToArray());
        // short float32 dot products (cin*k <= 25 terms of magnitude <= 1)
        GradientCheck.AssertClose(Conv1dReference(x.ToArray(), b, cin, l, wt.ToArray(), cout, k, pad, bias?.ToArray()), y.ToArray(), 1e-5, 1e-6, "conv1d");
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(1, 0)]
    [InlineData(4, 0)]
    [InlineData(5, 2)]
    public void Conv1dGradients(int k, int pad)
    {
        using var x = TestTensors.Uniform([2, 3, 7], 84, requiresGrad: true);
        using var wt = TestTensors.Uniform([2, 3, k], 85, requiresGrad: true);
        using var bias = TestTensors.Uniform([2], 86, requiresGrad: true);
        GradientCheck.Check(t => Ops.Conv1d(t[0], t[1], t[2], pad), [x, wt, bias]);
    }

    [Fact]
    public void Conv1dOnStridedInput()
    {
        // [B, L, C] features permuted to [B, C, L], the way VCP-CLIP feeds patch tokens to its k=1 convolutions.
        using var tokens = TestTensors.Uniform([2, 9, 4], 87, requiresGrad: true);
        using var wt = TestTensors.Uniform([3, 4, 1], 88, requiresGrad: true);
        GradientCheck.Check(t =>
        {
            using var x = Ops.Permute(t[0], 0, 2, 1);
            return Ops.Conv1d(x, t[1], null, 0);
        }, [tokens, wt]);
    }

    [Fact]
    public void BadShapesNameOpAndShapes()
    {
        using var x = TestTensors.Uniform([1, 3, 8, 8], 1);
        using var w = TestTensors.Uniform([4, 2, 2, 2], 2);
        ShapeErrorAssert.Throws("conv2d_patch", () => Ops.Conv2dPatch(x, w, null), "[1,3,8,8]", "[4,2,2,2]");
        using var big = TestTensors.Uniform([4, 3, 9, 9], 3);
        ShapeErrorAssert.Throws("conv2d_patch", () => Ops.Conv2dPatch(x, big, null), "[1,3,8,8]", "[4,3,9,9]");
        using var w2 = TestTensors.Uniform([4, 3, 2, 2], 4);
        using var badBias = TestTensors.Uniform([5], 5);
        ShapeErrorAssert.Throws("conv2d_patch", () => Ops.Conv2dPatch(x, w2, badBias), "[4,3,2,2]", "[5]");
        using var x1 = TestTensors.Uniform([2, 3, 7], 6);
        using var w1 = TestTensors.Uniform([5, 4, 3], 7);
        ShapeErrorAssert.Throws("conv1d", () => Ops.Conv1d(x1, w1, null, 1), "[2,3,7]", "[5,4,3]");
        using var wLong = TestTensors.Uniform([5, 3, 9], 8);
        ShapeErrorAssert.Throws("conv1d", () => Ops.Conv1d(x1, wLong, null, 0), "[2,3,7]", "[5,3,9]");
    }
}
