// Finite-difference gradient checking and float64 comparison helpers shared by every op test.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

/// <summary>Compares analytic gradients from the tape with central differences of a scalar projection of the op.</summary>
public static class GradientCheck
{
    /// <summary>
    /// Checks d(sum(f(inputs) * w))/d(input) for every input that requires grad, with w a fixed random weight so
    /// every output element matters. Float32 forward passes limit the finite-difference accuracy to about 1e-3
    /// relative, hence the default tolerances.
    /// </summary>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, float eps = 1e-2f, double rtol = 2e-2, double atol = 2e-3, int seed = 7)
    {
        Tensor weight;
        using (VcpNative.Tensors.Autograd.Tape.NoGrad())
        using (var probe = f(inputs))
        {
            weight = TestTensors.Uniform(probe.Shape, seed, -1f, 1f);
        }
        foreach (var t in inputs)
        {
            t.ZeroGrad();
        }
        using (var y = f(inputs))
        using (var prod = Ops.Mul(y, weight))
        using (var loss = Ops.Sum(prod))
        {
            loss.Backward();
        }
        for (var i = 0; i < inputs.Length; i++)
        {
            var x = inputs[i];
            if (!x.RequiresGrad)
            {
                Assert.Null(x.Grad);
                continue;
            }
            Assert.NotNull(x.Grad);
            var analytic = x.Grad!.ToArray();
            var data = x.AsSpan();
            for (var j = 0; j < data.Length; j++)
            {
                var saved = data[j];
                data[j] = saved + eps;
                var plus = Objective(f, inputs, weight);
                data[j] = saved - eps;
                var minus = Objective(f, inputs, weight);
                data[j] = saved;
                var numeric = (plus - minus) / (2 * eps);
                var err = Math.Abs(numeric - analytic[j]);
                Assert.True(err <= atol + rtol * Math.Abs(numeric),
                    $"input {i} element {j}: analytic {analytic[j]:G6} vs numeric {numeric:G6} (|diff| {err:G3})");
            }
        }
        weight.Dispose();
    }

    private static double Objective(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor weight)
    {
        using var noGrad = VcpNative.Tensors.Autograd.Tape.NoGrad();
        using var y = f(inputs);
        var yv = y.ToArray();
        var wv = weight.ToArray();
        double s = 0;
        for (var i = 0; i < yv.Length; i++)
        {
            s += (double)yv[i] * wv[i];
        }
        return s;
    }

    /// <summary>Asserts |actual - expected| <= atol + rtol |expected| elementwise, naming the first bad index.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double atol, double rtol = 0, string what = "value")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var err = Math.Abs(expected[i] - actual[i]);
            if (!(err <= atol + rtol * Math.Abs(expected[i])))
            {
                Assert.Fail($"{what}[{i}]: expected {expected[i]:G9}, got {actual[i]:G9} (|diff| {err:G3} > {atol + rtol * Math.Abs(expected[i]):G3})");
            }
        }
    }
}

/// <summary>Deterministic random tensors for tests.</summary>
public static class TestTensors
{
    public static Tensor Uniform(ReadOnlySpan<int> shape, int seed, float low = -1f, float high = 1f, bool requiresGrad = false)
    {
        var rng = new System.Random(seed);
        var data = new float[Shapes.Numel(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = low + (float)rng.NextDouble() * (high - low);
        }
        var t = Tensor.FromArray(data, shape);
        t.RequiresGrad = requiresGrad;
        return t;
    }
}
