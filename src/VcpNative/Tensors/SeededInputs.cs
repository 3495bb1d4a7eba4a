// Reproducible inputs for checks and kernel timings: the same seed gives the same values on every machine.
namespace VcpNative.Tensors;

/// <summary>Seeded uniform values and tensors (System.Random with a fixed seed), shared by verification and profiling.</summary>
public static class SeededInputs
{
    /// <summary><paramref name="count"/> seeded uniform values in [lo, hi).</summary>
    public static float[] Values(int count, int seed, float lo = -1f, float hi = 1f)
    {
        var rng = new Random(seed);
        var data = new float[count];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = lo + (float)rng.NextDouble() * (hi - lo);
        }
        return data;
    }

    /// <summary>A tensor of <see cref="Values"/> on <paramref name="backend"/>, optionally requiring a gradient.</summary>
    public static Tensor Tensor(IBackend backend, int[] shape, int seed, float lo = -1f, float hi = 1f, bool grad = false)
    {
        var t = Tensors.Tensor.FromArray(Values(checked((int)Shapes.Numel(shape)), seed, lo, hi), shape, backend);
        t.RequiresGrad = grad;
        return t;
    }
}
