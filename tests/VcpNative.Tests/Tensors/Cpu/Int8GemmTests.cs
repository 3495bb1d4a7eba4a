// The int8 linear path: every micro-kernel this CPU runs is bit-exact against an int32 reference; per-token quantisation
// stays within half a step; the int8 linear layer stays within a stated bound of fp32, with and without outlier channels.
using System.Runtime.Intrinsics.X86;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Tensors.Cpu;

public class Int8GemmTests(ITestOutputHelper output)
{
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var k in Int8Kernel.Supported)
        {
            data.Add(k.Name);
        }
        return data;
    }

    private static Int8Kernel KernelNamed(string name) => Int8Kernel.Supported.Single(k => k.Name == name);

    [Fact]
    public void The_kernels_this_cpu_supports_are_all_listed()
    {
        // No silent skip: an x64 CPU with AVX2 must test the AVX2 kernel, one with AVX-VNNI the VNNI kernel too.
        var names = Int8Kernel.Supported.Select(k => k.Name).ToArray();
        Assert.Contains("scalar-4x16", names);
        Assert.Equal(Avx2.IsSupported, names.Contains("avx2-4x16"));
        Assert.Equal(AvxVnni.IsSupported, names.Contains("avxvnni-6x16"));
        Assert.Contains(Int8Kernel.Default, Int8Kernel.Supported);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Kernel_is_bit_exact_against_an_int32_reference(string kernelName)
    {
        var kernel = KernelNamed(kernelName);
        // Edges: single element, M/N/K off every tile (Mr 4/6, 16-column panels, 4-byte groups, K odd), a product that
        // crosses the 72-row, 256-column and 1024-deep blocks, and exact multiples.
        int[][] shapes = [[1, 1, 1], [5, 17, 3], [7, 33, 13], [6, 16, 4], [12, 32, 8], [73, 257, 1029], [144, 512, 2048], [3, 5, 4097]];
        var rng = new Random(21);
        foreach (var s in shapes)
        {
            var (m, n, k) = (s[0], s[1], s[2]);
            foreach (var extreme in new[] { false, true })
            {
                // extreme: every value +-127, where an unguarded vpmaddubsw (u8 x s8 pairs) would saturate int16.
                var a = RandomInt8(rng, m * k, extreme);
                var q = RandomInt8(rng, n * k, extreme);
                var w = Int8PackedWeight.FromInt8(q, Enumerable.Repeat(1f, n).ToArray(), n, k, Int8OutlierPolicy.None);
                var c = new int[m * n];
                Int8Gemm.MultiplyInt32(kernel, m, a, w, c);
                for (var i = 0; i < m; i++)
                {
                    for (var j = 0; j < n; j++)
                    {
                        long expected = 0;
                        for (var l = 0; l < k; l++)
                        {
                            expected += a[(i * k) + l] * q[(j * k) + l];
                        }
                        Assert.True(expected == c[(i * n) + j], $"{kernelName} {m}x{n}x{k} extreme={extreme}: C[{i},{j}] = {c[(i * n) + j]}, expected {expected}");
                    }
                }
            }
        }
    }

    private static sbyte[] RandomInt8(Random rng, int count, bool extreme)
    {
        var v = new sbyte[count];
        for (var i = 0; i < count; i++)
        {
            v[i] = extreme ? (sbyte)(rng.Next(2) == 0 ? -127 : 127) : (sbyte)rng.Next(-127, 128);
        }
        return v;
    }

    [Fact]
    public void Per_token_quantisation_stays_within_half_a_step()
    {
        var rng = new Random(3);
        var (m, k) = (9, 77);
        var x = new float[m * k];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(10, (i / k) - 4));
        }
        Array.Fill(x, 0f, 3 * k, k); // an all-zero token: scale 0, q 0
        var q = new sbyte[m * k];
        var scales = new float[m];
        Int8Gemm.QuantizeRows(x, m, k, q, scales);
        for (var r = 0; r < m; r++)
        {
            var max = x.Skip(r * k).Take(k).Max(Math.Abs);
            Assert.Equal(max / 127f, scales[r]);
            var maxQ = 0;
            for (var c = 0; c < k; c++)
            {
                var v = q[(r * k) + c];
                Assert.InRange(v, -127, 127);
                maxQ = Math.Max(maxQ, Math.Abs((int)v));
                // Round to nearest: the dequantised value is within half a step (plus f32 rounding of the scale).
                Assert.InRange(Math.Abs((v * (double)scales[r]) - x[(r * k) + c]), 0, (0.5 + 1e-4) * scales[r]);
            }
            Assert.Equal(max > 0 ? 127 : 0, maxQ);
        }
    }

    /// <summary>Max |y_int8 - y_f64| / max |y_f64| of the CPU linear layer with int8 compute.</summary>
    private static double RelativeError(int rows, int n, int k, int[] outlierChannels, Int8OutlierPolicy policy, LinearActivation activation = LinearActivation.None)
    {
        var (maxErr, maxRef) = LinearError(rows, n, k, outlierChannels, policy, activation);
        return maxErr / maxRef;
    }

    /// <summary>Max |y_int8 - y_f64| and max |y_f64| of the CPU linear layer with int8 compute on seeded random data.</summary>
    private static (double MaxError, double MaxReference) LinearError(int rows, int n, int k, int[] outlierChannels, Int8OutlierPolicy policy, LinearActivation activation = LinearActivation.None)
    {
        var rng = new Random(5);
        var x = Normal(rng, rows * k, 1f);
        foreach (var c in outlierChannels)
        {
            // ViT-style: a few input channels ~100x larger than the rest in every token.
            for (var r = 0; r < rows; r++)
            {
                x[(r * k) + c] *= 100f;
            }
        }
        var w = Normal(rng, n * k, 1f / MathF.Sqrt(k));
        var bias = Normal(rng, n, 0.1f);
        using var xt = Tensor.FromArray(x, [rows, k]);
        using var wt = Tensor.FromArray(w, [n, k]);
        using var bt = Tensor.FromArray(bias, [n]);
        using var yt = Tensor.Empty([rows, n]);
        CpuBackend.PrepareInt8Linear(wt, policy);
        CpuBackend.Instance.LinearForward(xt, wt, bt, yt, activation);
        var reference = LinearReference.Compute(x, w, bias, rows, n, k);
        var y = yt.ToArray();
        double maxErr = 0, maxRef = 0;
        for (var i = 0; i < y.Length; i++)
        {
            var r = activation == LinearActivation.Gelu ? 0.5 * reference[i] * (1 + Erf(reference[i] / Math.Sqrt(2))) : reference[i];
            maxErr = Math.Max(maxErr, Math.Abs(y[i] - r));
            maxRef = Math.Max(maxRef, Math.Abs(r));
        }
        return (maxErr, maxRef);
    }

    private static double Erf(double v)
    {
        // Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): far below the int8 error measured here.
        var t = 1 / (1 + (0.3275911 * Math.Abs(v)));
        var y = 1 - ((((((1.061405429 * t) - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-v * v);
        return v < 0 ? -y : y;
    }

    private static float[] Normal(Random rng, int count, float std)
    {
        var v = new float[count];
        for (var i = 0; i < count; i++)
        {
            v[i] = std * (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        }
        return v;
    }

    [Fact]
    public void Int8_linear_is_close_to_fp32_without_outliers()
    {
        // 8-bit weights and activations (steps max/127 each) over K = 384: ~1% of the output range; 3% bounds it.
        var split = RelativeError(70, 200, 384, [], Int8OutlierPolicy.Default);
        var plain = RelativeError(70, 200, 384, [], Int8OutlierPolicy.None);
        var gelu = RelativeError(75, 300, 391, [], Int8OutlierPolicy.Default, LinearActivation.Gelu);
        output.WriteLine($"{Int8Kernel.Default.Name}: relative error {split:G3} (outlier split on), {plain:G3} (off), {gelu:G3} (GELU epilogue)");
        Assert.InRange(split, 1e-4, 0.03);
        Assert.InRange(plain, 1e-4, 0.03);
        Assert.InRange(gelu, 1e-4, 0.03);
    }

    [Fact]
    public void Outlier_channels_need_the_fp32_side_product()
    {
        // Same weights and tokens; then 3 of 384 input channels made 100x larger. Absolute errors: the outliers add
        // large exact terms to y, so an error relative to max |y| would hide what they do to the other channels.
        int[] outliers = [3, 100, 250];
        var clean = LinearError(70, 200, 384, [], Int8OutlierPolicy.Default).MaxError;
        var split = LinearError(70, 200, 384, outliers, Int8OutlierPolicy.Default).MaxError;
        var plain = LinearError(70, 200, 384, outliers, Int8OutlierPolicy.None).MaxError;
        output.WriteLine($"{Int8Kernel.Default.Name}, 3 channels x100: max abs error {split:G3} with the fp32 outlier product, {plain:G3} without, {clean:G3} without outliers");
        // With the split (f32 weights for the outlier columns) the error stays at the outlier-free level; without it the
        // 100x channels set every token's step and the other 381 channels keep ~1 level.
        Assert.InRange(split, 0, 2 * clean);
        Assert.True(plain > 10 * clean, $"plain per-token int8 error {plain} vs {clean} without outliers: the outliers did not hurt, the test lost its point");
    }

    [Fact]
    public void An_int8_weight_file_is_computed_with_its_own_values()
    {
        var q = new sbyte[] { 1, -127, 5, 127, 0, 3, -2, 9 };
        using var weight = Tensor.WrapInt8(q, [0.5f, 2f], [2, 4]);
        CpuBackend.PrepareInt8Linear(weight, Int8OutlierPolicy.None);
        using var x = Tensor.FromArray(new float[] { 127, 0, 0, 0 }, [1, 4]);
        using var y = Tensor.Empty([1, 2]);
        CpuBackend.Instance.LinearForward(x, weight, null, y, LinearActivation.None);
        // x quantises exactly (scale 1): y = 127 * q[:, 0] * scale.
        Assert.Equal(new[] { 127 * 1 * 0.5f, 0f }, y.ToArray());
    }

    [Fact]
    public void Prepare_refuses_weights_it_cannot_compute()
    {
        using var empty = Tensor.Empty([4, 0]);
        Assert.Throws<ArgumentException>(() => CpuBackend.Instance.PrepareInt8Linear(empty));
        using var minus128 = Tensor.WrapInt8([-128, 1], [1f], [1, 2]);
        Assert.Throws<ArgumentException>(() => CpuBackend.Instance.PrepareInt8Linear(minus128));
    }
}
