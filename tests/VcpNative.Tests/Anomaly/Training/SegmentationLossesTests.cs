// Focal and dice losses against float64 loops written from method-spec 2.5, and finite-difference gradient checks.
using VcpNative.Anomaly.Training;
using VcpNative.Tensors;
using VcpNative.Tests.Tensors;
using Xunit;

namespace VcpNative.Tests.Anomaly.Training;

public class SegmentationLossesTests
{
    private static Tensor Mask(int b, int h, int w, int seed)
    {
        var rng = new System.Random(seed);
        var m = new float[b * h * w];
        for (var i = 0; i < m.Length; i++)
        {
            m[i] = rng.NextDouble() < 0.3 ? 1f : 0f;
        }
        return Tensor.FromArray(m, [b, h, w]);
    }

    private static double FocalReference(float[] p0, float[] p1, float[] t)
    {
        double sum = 0;
        for (var i = 0; i < t.Length; i++)
        {
            var c1 = t[i] >= 1 ? 1 - 1e-5 : 1e-5;
            var pt = (1 - c1) * p0[i] + c1 * p1[i] + 1e-5;
            sum += -(1 - pt) * (1 - pt) * Math.Log(pt);
        }
        return sum / t.Length;
    }

    private static double DiceReference(float[] p, float[] t, int b)
    {
        var n = t.Length / b;
        double total = 0;
        for (var i = 0; i < b; i++)
        {
            double inter = 0, sp = 0, st = 0;
            for (var j = i * n; j < (i + 1) * n; j++)
            {
                inter += (double)p[j] * t[j];
                sp += p[j];
                st += t[j];
            }
            total += (2 * inter + 1) / (sp + st + 1);
        }
        return 1 - total / b;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 13)]
    [InlineData(3, 17, 9)]
    public void ForwardMatchesFloat64Loops(int b, int h, int w)
    {
        using var scope = new TensorScope();
        var p1 = TestTensors.Uniform([b, h, w], 3, 0.001f, 0.999f);
        var p0 = Ops.AddScalar(Ops.Neg(p1), 1f);
        var t = Mask(b, h, w, 5);
        // 1e-6 relative: float32 elementwise math, sums in double on the CPU backend.
        var focal = SegmentationLosses.Focal(p0, p1, t).Item();
        Assert.Equal(FocalReference(p0.ToArray(), p1.ToArray(), t.ToArray()), focal, 1e-6 * Math.Abs(focal) + 1e-7);
        var dice = SegmentationLosses.Dice(p1, t).Item();
        Assert.Equal(DiceReference(p1.ToArray(), t.ToArray(), b), dice, 1e-6);
        // The [B, 2, H, W] overload reads the same two channels.
        var stacked = Ops.Concat([Ops.Unsqueeze(p0, 1), Ops.Unsqueeze(p1, 1)], 1);
        Assert.Equal(focal, SegmentationLosses.Focal(stacked, t).Item());
    }

    [Fact]
    public void AllZeroMaskGivesDiceOfPredictedMass()
    {
        using var scope = new TensorScope();
        var p = TestTensors.Uniform([1, 4, 4], 9, 0f, 1f);
        var t = Tensor.Zeros([1, 4, 4]);
        var sum = p.ToArray().Sum();
        // dice = 1 / (sum p + 1): a normal image is pushed towards p = 0.
        Assert.Equal(1 - 1 / (sum + 1.0), SegmentationLosses.Dice(p, t).Item(), 1e-6);
    }

    [Fact]
    public void FocalGradientMatchesFiniteDifferences()
    {
        var p0 = TestTensors.Uniform([2, 3, 5], 11, 0.05f, 0.95f, requiresGrad: true);
        var p1 = TestTensors.Uniform([2, 3, 5], 12, 0.05f, 0.95f, requiresGrad: true);
        using var t = Mask(2, 3, 5, 13);
        GradientCheck.Check(x => SegmentationLosses.Focal(x[0], x[1], t), [p0, p1], eps: 1e-3f);
    }

    [Fact]
    public void DiceGradientMatchesFiniteDifferences()
    {
        var p = TestTensors.Uniform([3, 4, 5], 21, 0.05f, 0.95f, requiresGrad: true);
        using var t = Mask(3, 4, 5, 22);
        GradientCheck.Check(x => SegmentationLosses.Dice(x[0], t), [p], eps: 1e-3f);
    }

    [Fact]
    public void BranchLossGradientThroughSigmoidMatchesFiniteDifferences()
    {
        var d = TestTensors.Uniform([2, 4, 3], 31, -4f, 4f, requiresGrad: true);
        using var t = Mask(2, 4, 3, 32);
        GradientCheck.Check(x => SegmentationLosses.BranchLoss(x[0], t), [d], eps: 1e-3f);
    }

    [Fact]
    public void MismatchedShapesThrowNamingTheOp()
    {
        using var p = Tensor.Zeros([2, 3, 3]);
        using var t = Tensor.Zeros([2, 3, 4]);
        var ex = Assert.Throws<ShapeMismatchException>(() => SegmentationLosses.Dice(p, t));
        Assert.Contains("dice_loss", ex.Message);
        Assert.Throws<ShapeMismatchException>(() => SegmentationLosses.Focal(p, p, t));
    }
}
