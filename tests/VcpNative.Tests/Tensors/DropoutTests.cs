// Tests of Ops.Dropout: mask replayed from the same random stream, inverted scaling, identity at inference, gradient.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class DropoutTests
{
    [Theory]
    [InlineData(0.1f, 1)]
    [InlineData(0.5f, 1031)]
    [InlineData(0.1f, 10007)]
    public void KeepsReplayedMaskAndScales(float p, int n)
    {
        using var x = TestTensors.Uniform([n], 101, 0.5f, 1.5f);
        using var y = Ops.Dropout(x, p, new System.Random(42), training: true);
        var xv = x.ToArray();
        var yv = y.ToArray();
        var replay = new System.Random(42);
        var kept = 0;
        for (var i = 0; i < n; i++)
        {
            var drop = replay.NextDouble() < p;
            // one float multiply by the float scale 1/(1-p)
            var expected = drop ? 0f : xv[i] * (1f / (1f - p));
            Assert.Equal(expected, yv[i]);
            kept += drop ? 0 : 1;
        }
        if (n > 10000)
        {
            // Bernoulli(1 - p) count: 6 standard deviations for a fixed seed, a sanity check of the draw direction.
            var sd = Math.Sqrt(n * p * (1 - p));
            Assert.InRange(kept, n * (1 - p) - 6 * sd, n * (1 - p) + 6 * sd);
        }
    }

    [Fact]
    public void IdentityWhenNotTrainingOrZeroProbability()
    {
        using var x = TestTensors.Uniform([3, 7], 102);
        using var eval = Ops.Dropout(x, 0.5f, new System.Random(1), training: false);
        using var zero = Ops.Dropout(x, 0f, new System.Random(1), training: true);
        Assert.Equal(x.ToArray(), eval.ToArray());
        Assert.Equal(x.ToArray(), zero.ToArray());
    }

    [Fact]
    public void ProbabilityOneGivesZeros()
    {
        using var x = TestTensors.Uniform([13], 103);
        using var y = Ops.Dropout(x, 1f, new System.Random(1), training: true);
        Assert.All(y.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void GradientUsesTheSameMask()
    {
        using var x = TestTensors.Uniform([3, 7], 104, requiresGrad: true);
        // a fresh stream per call keeps the mask fixed across the finite-difference evaluations
        GradientCheck.Check(t => Ops.Dropout(t[0], 0.3f, new System.Random(9), training: true), [x]);
        GradientCheck.Check(t => Ops.Dropout(t[0], 0.3f, new System.Random(9), training: false), [x]);
    }

    [Fact]
    public void BadProbabilityThrows()
    {
        using var x = TestTensors.Uniform([3], 105);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, 1.5f, new System.Random(1), true));
        Assert.Contains("dropout", e.Message);
        Assert.Contains("[3]", e.Message);
    }
}
