// cvt.rn.bf16x2.f32 in the emulator (the packed bf16 rounding of the tensor-core kernels) against a scalar reference.
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;

namespace VcpNative.Tests.Tensors.Cuda;

public class Bf16ConvertTests
{
    [Fact]
    public void Cvt_rn_bf16x2_rounds_to_nearest_even_and_packs_the_first_source_high()
    {
        var values = new List<float>
        {
            0f, -0f, 1f, -1f, 1.5f, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue,
            1f + MathF.Pow(2, -8),      // tie between 1 and 1 + 2^-7: to the even mantissa, 1
            1f + (3 * MathF.Pow(2, -8)), // tie between 1 + 2^-7 and 1 + 2^-6: to the even one, 1 + 2^-6
            -(1f + (3 * MathF.Pow(2, -8))),
            1f + MathF.Pow(2, -8) + MathF.Pow(2, -20), // just above the tie: up
            MathF.Pow(2, -130),         // a subnormal that bf16 holds exactly
        };
        var rng = new Random(9);
        while (values.Count < 64)
        {
            values.Add((float)((rng.NextDouble() * 2) - 1) * MathF.Pow(2, rng.Next(-40, 40)));
        }
        var lo = values.ToArray();
        var hi = new float[lo.Length];
        for (var i = 0; i < lo.Length; i++) hi[i] = lo[(i + 5) % lo.Length];
        hi[0] = float.NaN;
        using var harness = new EmulatorHarness();
        var gpu = harness.Gpu;
        var d = gpu.Allocate(lo.Length * 4);
        gpu.Launch(gpu.GetFunction(gpu.LoadModule(EmulatorSanitizerTests.TestPtx("cvt_bf16x2")), "cvt_bf16x2"),
            new Dim3(1), new Dim3((uint)lo.Length), 0, [d, harness.Upload(lo), harness.Upload(hi)]);
        var packed = harness.Download(d, lo.Length);
        for (var i = 0; i < lo.Length; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(packed[i]);
            Assert.Equal(Expected(lo[i]), bits & 0xffffu);
            Assert.Equal(Expected(hi[i]), bits >> 16);
        }
    }

    /// <summary>bf16 bits of x rounded to 8 significant bits (nearest even) by scaling; NaN gives the quiet NaN of x's top half.</summary>
    private static uint Expected(float x)
    {
        if (float.IsNaN(x))
        {
            return (BitConverter.SingleToUInt32Bits(x) >> 16) | 0x40u;
        }
        // Zeros and infinities are exact (the scaling reference would lose the sign of -0).
        var rounded = float.IsInfinity(x) || x == 0 ? x : (float)TensorCoreGemmTests.RoundBf16(x);
        var bits = BitConverter.SingleToUInt32Bits(rounded);
        Assert.Equal(0u, bits & 0xffffu); // the reference itself is a bf16 value
        return bits >> 16;
    }
}
