// Emulator tests of the gather/scatter, top-k and Adam kernels beyond the verification table: device ids, f16/bf16
// tables, a wide top-k row with k in the thousands, and AdamOptimizer stepping on the device.
using VcpNative.Anomaly.Training;
using VcpNative.Models;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;
using Xunit.Abstractions;
using VcpNative.Verification;

namespace VcpNative.Tests.Tensors.Cuda;

public class GpuIndexingTests
{
    private readonly ITestOutputHelper output;

    public GpuIndexingTests(ITestOutputHelper output) => this.output = output;

    private static Tensor DeviceInts(GpuBackend gpu, int[] values)
    {
        var ids = Tensor.Empty([values.Length], DType.I32, gpu);
        gpu.Copy(Tensor.FromInts(values, [values.Length]), ids);
        return ids;
    }

    [Fact]
    public void Embedding_with_device_ids_gathers_and_rejects_an_id_outside_the_table()
    {
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        using var scope = new TensorScope();
        var table = new float[7 * 3];
        for (var i = 0; i < table.Length; i++) table[i] = i;
        var w = Tensor.FromArray(table, [7, 3], gpu);
        var y = Ops.Embedding(w, DeviceInts(gpu, [6, 0, 6, 2])).ToArray();
        // Expected by hand: row r of the table is [3r, 3r + 1, 3r + 2].
        Assert.Equal([18f, 19f, 20f, 0f, 1f, 2f, 18f, 19f, 20f, 6f, 7f, 8f], y);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(w, DeviceInts(gpu, [1, 7])));
        Assert.Contains("V=7", e.Message);
    }

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void Embedding_widens_half_precision_tables_exactly(DType dtype)
    {
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        using var scope = new TensorScope();
        // Normal values, a subnormal f16 (6e-6), +-0, inf and a large value, so every conversion branch runs.
        float[] values = [0.5f, -1.75f, 6e-6f, -0f, 0f, float.PositiveInfinity, -3.1415927f, 1000.25f, 1e-3f, -65504f, 7f, 0.099975586f];
        int[] ids = [3, 0, 2, 1, 3];
        float[] Run(IBackend b)
        {
            var hostHalf = Ops.Cast(Tensor.FromArray(values, [4, 3]), dtype);
            var table = Tensor.Empty([4, 3], dtype, b);
            b.Copy(hostHalf, table);
            return Ops.Embedding(table, Tensor.FromInts(ids, [5])).ToArray();
        }
        // Both sides widen the same 16-bit values; widening is exact, so results are identical.
        Assert.Equal(Run(CpuBackend.Instance), Run(gpu));
    }

    [Fact]
    public void TopK_of_a_wide_row_with_k_in_the_thousands_matches_the_cpu()
    {
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        const int n = 20011, k = 2000;
        var rng = new Random(5);
        var data = new float[2 * n];
        for (var i = 0; i < data.Length; i++)
        {
            // Coarse values: thousands of ties across the k-th boundary exercise the index half of the key.
            data[i] = rng.Next(0, 500) * 0.125f - 20f;
        }
        (float[] Values, float[] Indices) Run(IBackend b)
        {
            using var scope = new TensorScope();
            var (values, indices) = Ops.TopK(Tensor.FromArray(data, [2, n], b), k);
            return (values.ToArray(), Ops.Cast(indices, DType.F32).ToArray());
        }
        var expected = Run(CpuBackend.Instance);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var actual = Run(gpu);
        output.WriteLine($"emulated topk [2, {n}] k={k}: {started.Elapsed.TotalSeconds:F2} s");
        // Integer selection on identical keys: exactly equal.
        Assert.Equal(expected.Values, actual.Values);
        Assert.Equal(expected.Indices, actual.Indices);
    }

    [Fact]
    public void Adam_optimizer_on_the_device_equals_the_cpu_bit_for_bit()
    {
        float[][] Run(IBackend b)
        {
            var p = KernelVerification.Input(b, [5, 11], 1, grad: true);
            var q = KernelVerification.Input(b, [13], 2, grad: true);
            var adam = new AdamOptimizer([new AdamParameterGroup("g", 3e-3, [("p", p), ("q", q)])], beta1: 0.5);
            for (var step = 0; step < 3; step++)
            {
                adam.ZeroGrad();
                using (var scope = new TensorScope())
                {
                    Ops.Sum(Ops.Mul(Ops.Square(p), KernelVerification.Input(b, [5, 11], 10 + step))).Backward();
                    Ops.Sum(Ops.Mul(q, KernelVerification.Input(b, [13], 20 + step))).Backward();
                }
                adam.Step();
            }
            var s = adam.StateOf("p")!;
            Assert.Equal(3, s.Step);
            return [p.ToArray(), q.ToArray(), s.ExpAvg, s.ExpAvgSq];
        }
        var expected = Run(CpuBackend.Instance);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var actual = Run(gpu);
        // adam_step pins every rounding (mul/add/div/sqrt .rn, no FMA) and the gradients here are exact elementwise
        // products, so parameters and moments are bit-identical.
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }
        Assert.Equal(0, gpu.HostFallbackCalls);
    }
}
