// Tests of the fused linear layer act(x W^T + b): the sgemm epilogue against a float64 reference, and the taped path.
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class LinearFusedTests
{
    private static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

    private static double QuickGelu(double x) => x / (1 + Math.Exp(-1.702 * x));

    // Abramowitz-Stegun 7.1.26 would be too coarse; a float64 series/continued-fraction-free form: erf via Math functions.
    private static double Erf(double x)
    {
        // Taylor series converges fast for |x| < 3; beyond, erf is 1 to double precision within 2e-5 (x=3: 1-2.2e-5).
        var ax = Math.Abs(x);
        if (ax > 5)
        {
            return Math.Sign(x);
        }
        double sum = 0, term = x;
        for (var n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
            if (Math.Abs(term) < 1e-17)
            {
                break;
            }
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    [Theory]
    [InlineData(1, 1, 1, LinearActivation.Gelu, true)]
    [InlineData(37, 53, 67, LinearActivation.Gelu, true)]          // odd sizes: edge tiles of the 12x32 kernel
    [InlineData(211, 301, 97, LinearActivation.Gelu, true)]        // big enough to run on all threads, K over one 256-deep block
    [InlineData(211, 600, 45, LinearActivation.QuickGelu, true)]
    [InlineData(150, 130, 70, LinearActivation.None, true)]
    [InlineData(150, 130, 70, LinearActivation.Gelu, false)]       // no bias
    public void FusedLinearMatchesFloat64Reference(int rows, int k, int n, LinearActivation activation, bool withBias)
    {
        using var x = TestTensors.Uniform([rows, k], 1);
        using var w = TestTensors.Uniform([n, k], 2, -0.3f, 0.3f);
        using var b = TestTensors.Uniform([n], 3);
        using var noGrad = Tape.NoGrad();
        using var y = Ops.Linear(x, w, withBias ? b : null, activation);
        var xs = x.ToArray();
        var ws = w.ToArray();
        var bs = b.ToArray();
        var want = LinearReference.Compute(xs, ws, withBias ? bs : null, rows, n, k);
        for (var i = 0; i < want.Length; i++)
        {
            want[i] = activation switch
            {
                LinearActivation.Gelu => Gelu(want[i]),
                LinearActivation.QuickGelu => QuickGelu(want[i]),
                _ => want[i],
            };
        }
        // fp32 accumulation over up to 600 products of |x w| <= 0.3 plus the activations' ~1e-7 relative error.
        GradientCheck.AssertClose(want, y.ToArray(), 2e-5, 2e-5, "fused linear");
    }

    [Fact]
    public void TapedPathGivesTheSameValuesAndGradients()
    {
        using var x = TestTensors.Uniform([9, 13], 4, requiresGrad: true);
        using var w = TestTensors.Uniform([11, 13], 5, requiresGrad: true);
        using var b = TestTensors.Uniform([11], 6, requiresGrad: true);
        float[] fused;
        using (Tape.NoGrad())
        {
            using var y = Ops.Linear(x, w, b, LinearActivation.Gelu);
            fused = y.ToArray();
        }
        using var taped = Ops.Linear(x, w, b, LinearActivation.Gelu);
        // Same kernels in the same order: identical up to the epilogue's fused bias add (one rounding).
        GradientCheck.AssertClose(Array.ConvertAll(taped.ToArray(), v => (double)v), fused, 1e-6, 1e-6, "taped vs fused");
        GradientCheck.Check(t => Ops.Linear(t[0], t[1], t[2], LinearActivation.Gelu), [x, w, b]);
    }

    [Fact]
    public void BadShapesNameTheOp()
    {
        using var x = TestTensors.Uniform([3, 4], 7);
        using var w = TestTensors.Uniform([5, 6], 8);
        using var noGrad = Tape.NoGrad();
        var e = Assert.Throws<ShapeMismatchException>(() => Ops.Linear(x, w, null, LinearActivation.Gelu));
        Assert.Contains("linear", e.Message);
        Assert.Contains(Shapes.Format([3, 4]), e.Message);
        Assert.Contains(Shapes.Format([5, 6]), e.Message);
    }
}
