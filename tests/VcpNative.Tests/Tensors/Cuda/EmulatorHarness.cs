// Test harness: runs shipped kernels on the PTX emulator with host arrays in and out, plus shared reference helpers.
using Xunit;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;

namespace VcpNative.Tests.Tensors.Cuda;

internal sealed class EmulatorHarness : IDisposable
{
    public PtxEmulator Gpu { get; } = new();

    private readonly Dictionary<string, GpuModule> _modules = [];

    public DevicePtr Upload(float[] data)
    {
        var p = Gpu.Allocate(data.Length * 4L);
        Gpu.CopyToDevice(p, data);
        return p;
    }

    /// <summary>A device buffer filled with NaN, so a kernel that forgets to write an element is caught.</summary>
    public DevicePtr Garbage(int count)
    {
        var host = new float[count];
        Array.Fill(host, float.NaN);
        return Upload(host);
    }

    public float[] Download(DevicePtr p, int count)
    {
        var host = new float[count];
        Gpu.CopyToHost(p, host);
        return host;
    }

    public void Launch(string module, string kernel, Dim3 grid, Dim3 block, params KernelArg[] args) =>
        LaunchShared(module, kernel, grid, block, 0, args);

    public void LaunchShared(string module, string kernel, Dim3 grid, Dim3 block, int shared, params KernelArg[] args)
    {
        if (!_modules.TryGetValue(module, out var m)) _modules[module] = m = Gpu.LoadModule(ShippedKernels.LoadPtx(module));
        Gpu.Launch(Gpu.GetFunction(m, kernel), grid, block, shared, args);
    }

    public void Dispose() => Gpu.Dispose();

    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>|actual - expected| &lt;= atol + rtol * |expected| for every element, reporting the first failure.</summary>
    public static void AssertClose(double[] expected, float[] actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (!(diff <= atol + rtol * Math.Abs(expected[i])))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|diff| {diff:E3} > {atol} + {rtol}*|ref|)");
        }
    }

    public static uint Blocks(long n, int per) => (uint)((n + per - 1) / per);
}
