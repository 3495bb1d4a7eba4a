// The int8 linear path: every micro-kernel this CPU runs is bit-exact against an int32 reference (for the activation range
// it takes: 8-bit, or 7-bit for avx2u7); per-token quantisation stays within half a step; the int8 linear layer stays
// within a stated bound of fp32, with and without outlier channels, for the default kernel and for avx2u7 explicitly.
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
        // No silent skip: an x64 CPU with AVX2 must test both AVX2 kernels, one with AVX-VNNI the VNNI kernel too; a
        // kernel this CPU cannot run is named in the output with the reason.
        var names = Int8Kernel.Supported.Select(k => k.Name).ToArray();
        Assert.Contains(Int8Kernel.Scalar4x16.Name, names);
        Assert.Equal(Avx2.IsSupported, names.Contains(Int8Kernel.Avx2U7.Name));
        Assert.Equal(Avx2.IsSupported, names.Contains(Int8Kernel.Avx2Sign4x16.Name));
        Assert.Equal(AvxVnni.IsSupported, names.Contains(Int8Kernel.AvxVnni6x16.Name));
        Assert.Contains(Int8Kernel.Default, Int8Kernel.Supported);
        // The default: VNNI where the runtime reports it, else the 7-bit AVX2 kernel, else the scalar one.
        Assert.Same(AvxVnni.IsSupported ? Int8Kernel.AvxVnni6x16 : Avx2.IsSupported ? Int8Kernel.Avx2U7 : Int8Kernel.Scalar4x16, Int8Kernel.Default);
        if (!Avx2.IsSupported)
        {
            output.WriteLine($"not run here: {Int8Kernel.Avx2U7.Name}, {Int8Kernel.Avx2Sign4x16.Name} (the runtime reports no AVX2)");
        }
        if (!AvxVnni.IsSupported)
        {
            output.WriteLine($"not run here: {Int8Kernel.AvxVnni6x16.Name} (the runtime reports no AVX-VNNI; DOTNET_EnableAVXVNNI=0 or an older CPU)");
        }
        output.WriteLine($"run here: {string.Join(", ", names)}; default {Int8Kernel.Default.Name}");
    }

    [Fact]
    public void Each_kernel_states_the_activation_range_it_takes()
    {
        // vpdpbusd (u8 = q + 128) and the sign trick take 8-bit activations; vpmaddubsw on u8 = q + 64 needs |q| <= 63 so
        // that a pair sum (at most 2 * 127 * 127) fits int16.
        Assert.Equal((127, 128), (Int8Kernel.AvxVnni6x16.ActivationLevels, Int8Kernel.AvxVnni6x16.ActivationBias));
        Assert.Equal((63, 64), (Int8Kernel.Avx2U7.ActivationLevels, Int8Kernel.Avx2U7.ActivationBias));
        Assert.Equal((127, 0), (Int8Kernel.Avx2Sign4x16.ActivationLevels, Int8Kernel.Avx2Sign4x16.ActivationBias));
        Assert.Equal((127, 0), (Int8Kernel.Scalar4x16.ActivationLevels, Int8Kernel.Scalar4x16.ActivationBias));
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
        var levels = kernel.ActivationLevels;
        foreach (var s in shapes)
        {
            var (m, n, k) = (s[0], s[1], s[2]);
            foreach (var values in new[] { Values.Random, Values.RandomExtremes, Values.AllPositive, Values.MixedSigns })
            {
                // Extremes: activations +-levels (the kernel's range), weights +-127. AllPositive gives every vpmaddubsw
                // pair its largest sum (2 * 127 * 127 on u7, where a wider activation would saturate int16), MixedSigns
                // its most negative; an unguarded kernel fails here.
                var a = values switch
                {
                    Values.Random => RandomInt8(rng, m * k, levels, extreme: false),
                    Values.RandomExtremes => RandomInt8(rng, m * k, levels, extreme: true),
                    _ => Enumerable.Repeat((sbyte)levels, m * k).ToArray(),
                };
                var q = values switch
                {
                    Values.Random => RandomInt8(rng, n * k, 127, extreme: false),
                    Values.RandomExtremes => RandomInt8(rng, n * k, 127, extreme: true),
                    Values.AllPositive => Enumerable.Repeat((sbyte)127, n * k).ToArray(),
                    _ => Enumerable.Repeat((sbyte)-127, n * k).ToArray(),
                };
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
                        Assert.True(expected == c[(i * n) + j], $"{kernelName} {m}x{n}x{k} {values}: C[{i},{j}] = {c[(i * n) + j]}, expected {expected}");
                    }
                }
            }
        }
    }

    private enum Values
    {
        Random,
        RandomExtremes,
        AllPositive,
        MixedSigns,
    }

    [Fact]
    public void The_7_bit_kernel_refuses_8_bit_activations()
    {
        // q = 64 would be stored as 128 and could saturate vpmaddubsw: the int32 entry point checks the kernel's range.
        var w = Int8PackedWeight.FromInt8(new sbyte[] { 1, 2, 3, 4 }, [1f], 1, 4, Int8OutlierPolicy.None);
        var c = new int[1];
        Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyInt32(Int8Kernel.Avx2U7, 1, new sbyte[] { 64, 0, 0, 0 }, w, c));
        Int8Gemm.MultiplyInt32(Int8Kernel.Scalar4x16, 1, new sbyte[] { 64, 0, 0, 0 }, w, c);
        Assert.Equal(64, c[0]);
    }

    private static sbyte[] RandomInt8(Random rng, int count, int levels, bool extreme)
    {
        var v = new sbyte[count];
        for (var i = 0; i < count; i++)
        {
            v[i] = extreme ? (sbyte)(rng.Next(2) == 0 ? -levels : levels) : (sbyte)rng.Next(-levels, levels + 1);
        }
        return v;
    }

    [Theory]
    [InlineData(127)]
    [InlineData(63)]
    public unsafe void Per_token_quantisation_stays_within_half_a_step(int levels)
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
        Int8Gemm.QuantizeRows(x, m, k, levels, q, scales);
        for (var r = 0; r < m; r++)
        {
            var max = x.Skip(r * k).Take(k).Max(Math.Abs);
            Assert.Equal(max / levels, scales[r]);
            var maxQ = 0;
            for (var c = 0; c < k; c++)
            {
                var v = q[(r * k) + c];
                Assert.InRange(v, -levels, levels);
                maxQ = Math.Max(maxQ, Math.Abs((int)v));
                // Round to nearest: the dequantised value is within half a step (plus f32 rounding of the scale).
                Assert.InRange(Math.Abs((v * (double)scales[r]) - x[(r * k) + c]), 0, (0.5 + 1e-4) * scales[r]);
            }
            Assert.Equal(max > 0 ? levels : 0, maxQ);
        }
        // The kernels' storage: the same q plus the bias (u8 = q + 128 for 8 bits, q + 64 for 7), vector body and tail.
        var bias = levels == 63 ? 64 : 128;
        var stored = new byte[k];
        for (var r = 0; r < m; r++)
        {
            fixed (byte* dst = stored)
            {
                Assert.Equal(scales[r], Int8Gemm.QuantizeRow(x.AsSpan(r * k, k), dst, levels, bias));
            }
            for (var c = 0; c < k; c++)
            {
                Assert.Equal(q[(r * k) + c] + bias, stored[c]);
            }
        }
    }

    /// <summary>Max |y_int8 - y_f64| / max |y_f64| of the CPU linear layer with int8 compute.</summary>
    private static double RelativeError(Int8Kernel? kernel, int rows, int n, int k, int[] outlierChannels, Int8OutlierPolicy policy, LinearActivation activation = LinearActivation.None)
    {
        var (maxErr, maxRef) = LinearError(kernel, rows, n, k, outlierChannels, policy, activation);
        return maxErr / maxRef;
    }

    /// <summary>
    /// Max |y_int8 - y_f64| and max |y_f64| of the int8 linear layer on seeded random data: through the CPU backend (its
    /// default kernel) when <paramref name="kernel"/> is null, else through Int8Gemm.Linear with that kernel.
    /// </summary>
    private static unsafe (double MaxError, double MaxReference) LinearError(Int8Kernel? kernel, int rows, int n, int k, int[] outlierChannels, Int8OutlierPolicy policy, LinearActivation activation = LinearActivation.None)
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
        float[] y;
        if (kernel is null)
        {
            CpuBackend.Instance.LinearForward(xt, wt, bt, yt, activation);
            y = yt.ToArray();
        }
        else
        {
            // The same packed weight (f32 source kept for the outlier columns) and epilogue, with the kernel named.
            var packed = Assert.IsType<Int8PackedWeight>(wt.LinearComputeForm);
            var epilogue = activation == LinearActivation.Gelu ? GemmEpilogue.Gelu : GemmEpilogue.None;
            Assert.True(activation is LinearActivation.None or LinearActivation.Gelu, "only None and Gelu are referenced below");
            y = new float[rows * n];
            fixed (float* px = x, pb = bias, py = y)
            {
                Int8Gemm.Linear(kernel, rows, px, k, packed, pb, epilogue, py, n);
            }
        }
        var reference = LinearReference.Compute(x, w, bias, rows, n, k);
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

    public static TheoryData<string> AccuracyRuns()
    {
        // "default": through the CPU backend, whatever kernel this CPU runs by default; then the 7-bit AVX2 kernel by
        // name where the CPU has AVX2 (The_kernels_this_cpu_supports_are_all_listed says when it does not).
        var data = new TheoryData<string> { "default" };
        if (Int8Kernel.Supported.Contains(Int8Kernel.Avx2U7))
        {
            data.Add(Int8Kernel.Avx2U7.Name);
        }
        return data;
    }

    private static Int8Kernel? AccuracyKernel(string run) => run == "default" ? null : KernelNamed(run);

    [Theory]
    [MemberData(nameof(AccuracyRuns))]
    public void Int8_linear_is_close_to_fp32_without_outliers(string run)
    {
        // 8-bit weights and activations (steps max/127 each) over K = 384: ~1% of the output range (measured 1.05%,
        // avxvnni-6x16). avx2u7's 7-bit activations (step max/63) double the activation part: measured 1.72% (1.73%
        // with GELU). 3% bounds both.
        var kernel = AccuracyKernel(run);
        var name = (kernel ?? Int8Kernel.Default).Name;
        var split = RelativeError(kernel, 70, 200, 384, [], Int8OutlierPolicy.Default);
        var plain = RelativeError(kernel, 70, 200, 384, [], Int8OutlierPolicy.None);
        var gelu = RelativeError(kernel, 75, 300, 391, [], Int8OutlierPolicy.Default, LinearActivation.Gelu);
        output.WriteLine($"{name} ({run}): relative error {split:G3} (outlier split on), {plain:G3} (off), {gelu:G3} (GELU epilogue)");
        Assert.InRange(split, 1e-4, 0.03);
        Assert.InRange(plain, 1e-4, 0.03);
        Assert.InRange(gelu, 1e-4, 0.03);
    }

    [Theory]
    [MemberData(nameof(AccuracyRuns))]
    public void Outlier_channels_need_the_fp32_side_product(string run)
    {
        // Same weights and tokens; then 3 of 384 input channels made 100x larger. Absolute errors: the outliers add
        // large exact terms to y, so an error relative to max |y| would hide what they do to the other channels.
        int[] outliers = [3, 100, 250];
        var kernel = AccuracyKernel(run);
        var clean = LinearError(kernel, 70, 200, 384, [], Int8OutlierPolicy.Default).MaxError;
        var split = LinearError(kernel, 70, 200, 384, outliers, Int8OutlierPolicy.Default).MaxError;
        var plain = LinearError(kernel, 70, 200, 384, outliers, Int8OutlierPolicy.None).MaxError;
        output.WriteLine($"{(kernel ?? Int8Kernel.Default).Name} ({run}), 3 channels x100: max abs error {split:G3} with the fp32 outlier product, {plain:G3} without, {clean:G3} without outliers");
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
        // x quantises exactly: 8-bit kernels q = 127, scale 1; avx2u7 q = 63, scale 127/63, and 63 * (127/63 * 0.5)
        // rounds back to 63.5 in f32. So y = 127 * q[:, 0] * scale on every kernel.
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
