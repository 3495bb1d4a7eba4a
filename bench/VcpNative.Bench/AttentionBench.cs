// Attention strip heights compared in one run: the CPU strip path (two sgemm products per strip of queries) at ViT-L's
// shape, interleaved per repeat so a busy phase of a shared machine lands on every height alike.
using System.Diagnostics;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Bench;

/// <summary>`attention [--threads N] [--repeats R] [--strips 24,48,96] [--lk 1370] [--heads 16] [--d 64]`.</summary>
internal static class AttentionBench
{
    public static int Run(string[] args)
    {
        var threads = 2;
        var repeats = 7;
        var strips = new[] { 24, 48, 96, 144 };
        var lk = 1370;
        var heads = 16;
        var d = 64;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads": threads = int.Parse(args[++i]); break;
                case "--repeats": repeats = int.Parse(args[++i]); break;
                case "--strips": strips = Array.ConvertAll(args[++i].Split(','), int.Parse); break;
                case "--lk": lk = int.Parse(args[++i]); break;
                case "--heads": heads = int.Parse(args[++i]); break;
                case "--d": d = int.Parse(args[++i]); break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}' (expected --threads, --repeats, --strips, --lk, --heads, --d)");
            }
        }
        using var pool = new CpuThreadPool(threads);
        using var poolScope = pool.Enter();
        var random = new Random(1);
        Tensor Random() => Tensor.FromArray(Enumerable.Range(0, heads * lk * d).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), [1, heads, lk, d]);
        var q = Random();
        var k = Random();
        var v = Random();
        var outputs = strips.Select(_ => Tensor.Zeros([1, heads, lk, d])).ToArray();
        var scale = 1f / MathF.Sqrt(d);
        var flops = 4.0 * heads * lk * lk * d;
        var seconds = strips.Select(_ => new double[repeats]).ToArray();
        for (var s = 0; s < strips.Length; s++)
        {
            CpuBackend.AttentionForwardStrips(q, k, v, outputs[s], scale, strips[s]);
        }
        for (var r = 0; r < repeats; r++)
        {
            for (var s = 0; s < strips.Length; s++)
            {
                var watch = Stopwatch.StartNew();
                CpuBackend.AttentionForwardStrips(q, k, v, outputs[s], scale, strips[s]);
                seconds[s][r] = watch.Elapsed.TotalSeconds;
            }
        }
        var reference = outputs[0].ToArray();
        Console.WriteLine($"attention {heads} heads x {lk} queries/keys x d {d}, kernel {SgemmKernel.Default.Name} ({CpuCaches.Current}), threads {threads}, median of {repeats}");
        Console.WriteLine(" strip | GFLOP/s  vs first | max abs diff vs first");
        var first = Median(seconds[0]);
        for (var s = 0; s < strips.Length; s++)
        {
            var median = Median(seconds[s]);
            var values = outputs[s].ToArray();
            var diff = 0f;
            for (var i = 0; i < values.Length; i++)
            {
                diff = MathF.Max(diff, MathF.Abs(values[i] - reference[i]));
            }
            Console.WriteLine($" {strips[s],5} | {flops / median / 1e9,7:F1}  {first / median,7:F3} | {diff:E2}");
        }
        return 0;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
