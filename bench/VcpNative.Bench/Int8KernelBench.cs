// Quick int8 linear timing: each int8 micro-kernel this CPU runs, interleaved on the ViT-L shapes, against a peer kernel.
using System.Diagnostics;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Bench;

/// <summary>
/// Times Int8Gemm.Linear (token quantisation + int8 product + f32 epilogue, no outlier split) with every kernel, in
/// rounds that run each kernel once back to back, and prints each kernel's median and the median over rounds of its
/// time / the peer's time in the same round (steadier than a ratio of medians on a shared machine).
/// </summary>
internal static unsafe class Int8KernelBench
{
    public static int Run(string[] args)
    {
        var threads = 2;
        var repeats = 7;
        var m = 1370;
        string? only = null;
        var peerName = Int8Kernel.Avx2Sign4x16.Name;
        (int K, int N)[] pairs = [(1024, 3072), (1024, 1024), (1024, 4096), (4096, 1024)];
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads":
                    threads = int.Parse(args[++i]);
                    break;
                case "--repeats":
                    repeats = int.Parse(args[++i]);
                    break;
                case "--m":
                    m = int.Parse(args[++i]);
                    break;
                case "--kernels":
                    only = args[++i];
                    break;
                case "--peer":
                    peerName = args[++i];
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}' (expected --threads, --repeats, --m, --kernels, --peer)");
            }
        }
        var kernels = Int8Kernel.Supported
            .Where(k => k.Name != Int8Kernel.Scalar4x16.Name && (only is null || only.Split(',').Contains(k.Name)))
            .ToArray();
        var peer = Array.FindIndex(kernels, k => k.Name == peerName);
        if (peer < 0)
        {
            Console.WriteLine($"peer kernel {peerName} is not among this CPU's kernels ({string.Join(", ", Int8Kernel.Supported)})");
            return 1;
        }
        using var pool = new CpuThreadPool(threads);
        using var poolScope = pool.Enter();
        Console.WriteLine($"int8 linear (quantise + product + epilogue), M {m}, threads {threads}, {repeats} rounds; default kernel {Int8Kernel.Default.Name}; peer {peerName}");
        Console.WriteLine($"{"K",5} {"N",5} {"kernel",-16} {"median s",9} {"GMAC/s",7} {"time/peer",9}");
        var rng = new Random(1);
        foreach (var (k, n) in pairs)
        {
            var x = new float[m * k];
            var wf = new float[n * k];
            for (var i = 0; i < x.Length; i++)
            {
                x[i] = (float)(rng.NextDouble() - 0.5);
            }
            for (var i = 0; i < wf.Length; i++)
            {
                wf[i] = (float)(rng.NextDouble() - 0.5);
            }
            var w = Int8PackedWeight.Quantize(wf, n, k, Int8OutlierPolicy.None);
            var y = new float[m * n];
            var times = new double[kernels.Length][];
            for (var j = 0; j < kernels.Length; j++)
            {
                times[j] = new double[repeats];
                Time(kernels[j], m, x, w, y); // warm-up (JIT tiering, page faults)
            }
            for (var r = 0; r < repeats; r++)
            {
                for (var j = 0; j < kernels.Length; j++)
                {
                    times[j][r] = Time(kernels[j], m, x, w, y);
                }
            }
            for (var j = 0; j < kernels.Length; j++)
            {
                var median = Median(times[j]);
                var ratios = new double[repeats];
                for (var r = 0; r < repeats; r++)
                {
                    ratios[r] = times[j][r] / times[peer][r];
                }
                Console.WriteLine($"{k,5} {n,5} {kernels[j].Name,-16} {median,9:F4} {(double)m * n * k / median / 1e9,7:F1} {Median(ratios),9:F3}");
            }
        }
        return 0;
    }

    private static double Time(Int8Kernel kernel, int m, float[] x, Int8PackedWeight w, float[] y)
    {
        var start = Stopwatch.GetTimestamp();
        fixed (float* px = x, py = y)
        {
            Int8Gemm.Linear(kernel, m, px, w.K, w, null, GemmEpilogue.None, py, w.N);
        }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static double Median(double[] v)
    {
        var s = (double[])v.Clone();
        Array.Sort(s);
        return s[s.Length / 2];
    }
}
