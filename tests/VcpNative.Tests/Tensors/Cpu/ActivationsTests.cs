using VcpNative.Tensors.Cpu;
using Xunit;

namespace VcpNative.Tests.Tensors.Cpu;

/// <summary>The span activations against float64 references and against their own scalar form, on every vector width's tail.</summary>
public class ActivationsTests
{
    private static float[] Inputs(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 12) - 6)).Select(v => v == 0f ? 0.25f : v).ToArray();
    }

    // Lengths cover the Vector512 loop (16), the Vector256 remainder (8), Vector128 (4) and the scalar tail.
    public static TheoryData<int> Lengths => [0, 1, 3, 7, 8, 15, 16, 17, 23, 24, 31, 33, 64, 71, 1029];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Gelu_matches_erf_in_float64_and_its_scalar_form_bit_for_bit(int n)
    {
        var x = Inputs(n, n);
        var y = new float[n];
        Activations.Gelu(x, y);
        for (var i = 0; i < n; i++)
        {
            var exact = 0.5 * x[i] * (1 + Float64Math.Erf(x[i] / Math.Sqrt(2)));
            Assert.True(Math.Abs(y[i] - exact) <= 2e-6 * Math.Max(1, Math.Abs(exact)), $"gelu({x[i]}) = {y[i]}, expected {exact}");
            Assert.Equal(VectorMath.Gelu(x[i]), y[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void QuickGelu_matches_float64_and_its_scalar_tail(int n)
    {
        var x = Inputs(n, n + 1000);
        var y = new float[n];
        Activations.QuickGelu(x, y);
        for (var i = 0; i < n; i++)
        {
            var exact = x[i] / (1 + Math.Exp(-1.702 * x[i]));
            Assert.True(Math.Abs(y[i] - exact) <= 2e-6 * Math.Max(1, Math.Abs(exact)), $"quickgelu({x[i]}) = {y[i]}, expected {exact}");
            Assert.Equal(x[i] / (1f + VectorMath.Exp(-1.702f * x[i])), y[i]);
        }
    }

    [Fact]
    public void Exp_is_within_two_ulps_over_the_softmax_range()
    {
        for (var v = -87f; v <= 88f; v += 0.0137f)
        {
            var exact = Math.Exp(v);
            var got = VectorMath.Exp(v);
            Assert.True(Math.Abs(got - exact) <= 2.5e-7 * exact, $"exp({v}) = {got}, expected {exact}");
        }
    }
}
