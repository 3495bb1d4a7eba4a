// Tests of the core op set (views, elementwise with broadcasting, reductions, matmul, linear) on the CPU backend.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class CoreOpsTests
{
    private static double[] Naive(int n, Func<int, double> f)
    {
        var r = new double[n];
        for (var i = 0; i < n; i++)
        {
            r[i] = f(i);
        }
        return r;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(13, 17, 9)]
    public void AddBroadcastMatchesReferenceAndGradient(int a, int b, int c)
    {
        using var x = TestTensors.Uniform([a, b, c], 1, requiresGrad: true);
        using var y = TestTensors.Uniform([b, 1], 2, requiresGrad: true);
        using var z = Ops.Add(x, y);
        var xv = x.ToArray();
        var yv = y.ToArray();
        // one float32 rounding of the exact sum
        GradientCheck.AssertClose(Naive(a * b * c, i => (double)xv[i] + yv[i / c % b]), z.ToArray(), 0, 1.2e-7);
        GradientCheck.Check(t => Ops.Add(t[0], t[1]), [x, y]);
    }

    [Fact]
    public void MulDivSubGradients()
    {
        using var x = TestTensors.Uniform([4, 3], 3, requiresGrad: true);
        using var y = TestTensors.Uniform([3], 4, 1f, 2f, requiresGrad: true);
        GradientCheck.Check(t => Ops.Mul(t[0], t[1]), [x, y]);
        GradientCheck.Check(t => Ops.Div(t[0], t[1]), [x, y]);
        GradientCheck.Check(t => Ops.Sub(t[0], t[1]), [x, y]);
        GradientCheck.Check(t => Ops.Maximum(t[0], t[1]), [x, y]);
    }

    [Theory]
    [InlineData(UnaryOp.Exp)]
    [InlineData(UnaryOp.Log)]
    [InlineData(UnaryOp.Sqrt)]
    [InlineData(UnaryOp.Gelu)]
    [InlineData(UnaryOp.QuickGelu)]
    [InlineData(UnaryOp.Sigmoid)]
    [InlineData(UnaryOp.Tanh)]
    [InlineData(UnaryOp.Square)]
    public void UnaryOpsMatchFloat64AndGradients(UnaryOp op)
    {
        var positive = op is UnaryOp.Log or UnaryOp.Sqrt;
        using var x = TestTensors.Uniform([37], 5, positive ? 0.2f : -4f, 4f, requiresGrad: true);
        Func<Tensor, Tensor> f = op switch
        {
            UnaryOp.Exp => Ops.Exp,
            UnaryOp.Log => Ops.Log,
            UnaryOp.Sqrt => Ops.Sqrt,
            UnaryOp.Gelu => Ops.Gelu,
            UnaryOp.QuickGelu => Ops.QuickGelu,
            UnaryOp.Sigmoid => Ops.Sigmoid,
            UnaryOp.Tanh => Ops.Tanh,
            _ => Ops.Square,
        };
        Func<double, double> reference = op switch
        {
            UnaryOp.Exp => Math.Exp,
            UnaryOp.Log => Math.Log,
            UnaryOp.Sqrt => Math.Sqrt,
            UnaryOp.Gelu => v => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))),
            UnaryOp.QuickGelu => v => v / (1 + Math.Exp(-1.702 * v)),
            UnaryOp.Sigmoid => v => 1 / (1 + Math.Exp(-v)),
            UnaryOp.Tanh => Math.Tanh,
            _ => v => v * v,
        };
        using var y = f(x);
        var xv = x.ToArray();
        // float32 transcendental approximations: a few ulps relative.
        GradientCheck.AssertClose(Naive(xv.Length, i => reference(xv[i])), y.ToArray(), 1e-6, 2e-6);
        GradientCheck.Check(t => f(t[0]), [x]);
    }

    /// <summary>erf by its Taylor/continued-fraction series in double, independent of the code under test.</summary>
    internal static double Erf(double x)
    {
        if (Math.Abs(x) > 3.5)
        {
            return Math.Sign(x) * (1 - ErfcLarge(Math.Abs(x)));
        }
        double sum = x, term = x;
        for (var n = 1; n < 200; n++)
        {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    private static double ErfcLarge(double x)
    {
        // Continued fraction for erfc, converges fast for x > 3.
        double f = 0;
        for (var n = 60; n >= 1; n--)
        {
            f = n / 2.0 / (x + f);
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / (x + f);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 13)]
    [InlineData(5, 1, 3)]
    public void SumMeanOverAxes(int a, int b, int c)
    {
        using var x = TestTensors.Uniform([a, b, c], 6, requiresGrad: true);
        var xv = x.ToArray();
        using var s = Ops.Sum(x, [1]);
        Assert.Equal([a, c], s.Shape.ToArray());
        GradientCheck.AssertClose(Naive(a * c, i =>
        {
            double t = 0;
            for (var j = 0; j < b; j++)
            {
                t += xv[(i / c * b + j) * c + i % c];
            }
            return t;
        }), s.ToArray(), 1e-5);
        GradientCheck.Check(t => Ops.Sum(t[0], [1]), [x]);
        GradientCheck.Check(t => Ops.Mean(t[0], [0, 2], keepDim: true), [x]);
        GradientCheck.Check(t => Ops.Sum(t[0]), [x]);
    }

    [Theory]
    [InlineData(1, 1, 1, false, false)]
    [InlineData(3, 5, 7, false, true)]
    [InlineData(13, 2, 11, true, false)]
    [InlineData(6, 9, 4, true, true)]
    public void MatMulAllTransposesMatchFloat64AndGradients(int m, int k, int n, bool ta, bool tb)
    {
        using var a = TestTensors.Uniform(ta ? [2, k, m] : [2, m, k], 8, requiresGrad: true);
        using var b = TestTensors.Uniform(tb ? [n, k] : [k, n], 9, requiresGrad: true);
        using var c = Ops.MatMul(a, b, ta, tb);
        Assert.Equal([2, m, n], c.Shape.ToArray());
        var av = a.ToArray();
        var bv = b.ToArray();
        var expected = Naive(2 * m * n, idx =>
        {
            var bi = idx / (m * n);
            var i = idx / n % m;
            var j = idx % n;
            double s = 0;
            for (var p = 0; p < k; p++)
            {
                var x = ta ? av[bi * k * m + p * m + i] : av[bi * m * k + i * k + p];
                var y = tb ? bv[j * k + p] : bv[p * n + j];
                s += (double)x * y;
            }
            return s;
        });
        GradientCheck.AssertClose(expected, c.ToArray(), 1e-5, 1e-5);
        GradientCheck.Check(t => Ops.MatMul(t[0], t[1], ta, tb), [a, b]);
    }

    [Fact]
    public void MatMulOnPermutedViewsNeedsNoCopyAndIsCorrect()
    {
        using var a = TestTensors.Uniform([4, 6], 10);
        using var at = Ops.Transpose(a, 0, 1);
        using var b = TestTensors.Uniform([4, 3], 11);
        using var c1 = Ops.MatMul(at, b);
        using var c2 = Ops.MatMul(a, b, transA: true);
        Assert.Equal(c2.ToArray(), c1.ToArray());
    }

    [Fact]
    public void LinearWithBiasMatchesReferenceAndFrozenWeightGetsNoGradient()
    {
        using var x = TestTensors.Uniform([2, 3, 5], 12, requiresGrad: true);
        using var w = TestTensors.Uniform([4, 5], 13);
        using var bias = TestTensors.Uniform([4], 14, requiresGrad: true);
        using var y = Ops.Linear(x, w, bias);
        var xv = x.ToArray();
        var wv = w.ToArray();
        var bv = bias.ToArray();
        GradientCheck.AssertClose(Naive(24, idx =>
        {
            var r = idx / 4;
            var j = idx % 4;
            double s = bv[j];
            for (var p = 0; p < 5; p++)
            {
                s += (double)xv[r * 5 + p] * wv[j * 5 + p];
            }
            return s;
        }), y.ToArray(), 1e-5, 1e-5);
        GradientCheck.Check(t => Ops.Linear(t[0], t[1], t[2]), [x, w, bias]);
        Assert.Null(w.Grad);
        w.RequiresGrad = true;
        GradientCheck.Check(t => Ops.Linear(t[0], t[1], t[2]), [x, w, bias]);
    }

    [Fact]
    public void ViewsShareStorageAndBackpropagate()
    {
        using var x = TestTensors.Uniform([3, 4, 5], 15, requiresGrad: true);
        GradientCheck.Check(t => Ops.Narrow(t[0], 1, 1, 2), [x]);
        GradientCheck.Check(t => Ops.Permute(t[0], 2, 0, 1), [x]);
        GradientCheck.Check(t => Ops.Reshape(Ops.Permute(t[0], 2, 0, 1), 5, -1), [x]);
        GradientCheck.Check(t => Ops.Concat([t[0], Ops.Narrow(t[0], 2, 0, 2)], 2), [x]);
        GradientCheck.Check(t => Ops.Select(t[0], 0, 2), [x]);
        using var n = Ops.Narrow(x, 2, 1, 3);
        Assert.Same(x.Storage, n.Storage);
        Assert.False(n.IsContiguous);
        var xv = x.ToArray();
        var nv = n.ToArray();
        Assert.Equal(xv[1], nv[0]);
        Assert.Equal(xv[5 + 1], nv[3]);
    }

    [Fact]
    public void ShapeMismatchNamesOpAndBothShapes()
    {
        using var a = Tensor.Zeros([2, 3]);
        using var b = Tensor.Zeros([4, 5]);
        var e = Assert.Throws<ShapeMismatchException>(() => Ops.MatMul(a, b));
        Assert.Contains("matmul", e.Message);
        Assert.Contains("[2,3]", e.Message);
        Assert.Contains("[4,5]", e.Message);
        var e2 = Assert.Throws<ShapeMismatchException>(() => Ops.Add(a, b));
        Assert.Contains("add", e2.Message);
        Assert.Contains("[4,5]", e2.Message);
    }

    [Fact]
    public void ScopeReturnsBuffersToPoolSoSteadyStateAllocatesNothing()
    {
        using var x = TestTensors.Uniform([64, 64], 16);
        void Step()
        {
            using var scope = new TensorScope();
            var y = Ops.Gelu(Ops.Add(Ops.MatMul(x, x), x));
            _ = Ops.Sum(y);
        }
        Step();
        Step();
        var pool = VcpNative.Tensors.Cpu.CpuBackend.Instance.Pool;
        var misses = pool.Misses;
        Step();
        Assert.Equal(misses, pool.Misses);
    }

    [Fact]
    public void HalfAndBFloat16StorageWidenToFloat32()
    {
        using var x = Tensor.FromArray([1.5f, -2.25f, 65504f, 1e-3f], [4]);
        using var h = Ops.Cast(x, DType.F16);
        using var bf = Ops.Cast(x, DType.BF16);
        Assert.Equal(DType.F16, h.DType);
        Assert.Equal(new[] { 1.5f, -2.25f, 65504f, (float)(Half)1e-3f }, h.ToArray());
        using var sum = Ops.Add(bf, x);
        Assert.Equal(3f, sum.ToArray()[0]);
    }
}
