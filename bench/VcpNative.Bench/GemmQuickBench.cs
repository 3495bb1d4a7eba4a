// Quick GEMM timing (seconds, not BenchmarkDotNet's minutes): ours vs OpenBLAS interleaved on the same inputs, median of runs.
using System.Diagnostics;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Bench;

/// <summary>Prints shape, GFLOP/s of ours (packing W per call), ours with W pre-packed, OpenBLAS, and the ratios.</summary>
internal static class GemmQuickBench
{
    public static int Run(string[] args)
    {
        var threads = 2;
        var repeats = 7;
        var kernel = SgemmKernel.Default;
        var sizes = new[] { 1024, 3072, 4096 };
        var m = 1370;
        var best = false;
        (int K, int N)[]? pairs = null;
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
                case "--best":
                    // Fastest run instead of the median: on a shared machine it estimates the undisturbed speed.
                    best = true;
                    break;
                case "--vit":
                    pairs = [(1024, 3072), (1024, 1024), (1024, 4096), (4096, 1024)];
                    break;
                case "--pairs":
                    // KxN,KxN,...: just these shapes (M from --m).
                    pairs = Array.ConvertAll(args[++i].Split(','), pair =>
                    {
                        var kn = pair.Split('x');
                        return (int.Parse(kn[0]), int.Parse(kn[1]));
                    });
                    break;
                case "--m":
                    m = int.Parse(args[++i]);
                    break;
                case "--sizes":
                    sizes = Array.ConvertAll(args[++i].Split(','), int.Parse);
                    break;
                case "--kernel":
                    var name = args[++i];
                    kernel = SgemmKernel.Supported.FirstOrDefault(k => k.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase))
                        ?? throw new ArgumentException($"unknown or unsupported kernel '{name}'; supported: {string.Join(", ", SgemmKernel.Supported)}");
                    break;
                case "--blocking":
                    var b = Array.ConvertAll(args[++i].Split(','), int.Parse);
                    kernel = kernel.WithBlocking(b[0], b[1], b[2]);
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}' (expected --threads, --repeats, --best, --vit, --pairs, --m, --sizes, --kernel, --blocking)");
            }
        }

        using var pool = new CpuThreadPool(threads);
        using var poolScope = pool.Enter();
        var peer = OpenBlas.IsAvailable;
        if (peer)
        {
            OpenBlas.SetThreads(threads);
            Console.WriteLine($"OpenBLAS: {OpenBlas.LoadedFrom} (core {OpenBlas.CoreName})");
        }
        else
        {
            Console.WriteLine("OpenBLAS not found (install libopenblas0-pthread); timing ours alone.");
        }
        Console.WriteLine($"kernel {kernel.Name} ({kernel.Blocking}; {CpuCaches.Current}; split {SgemmSplit.Current}), threads {threads}, {(best ? "best" : "median")} of {repeats} runs, GFLOP/s");
        Console.WriteLine($"{"M",5} {"K",5} {"N",5} | {"ours",7} {"packed",7} {"openblas",8} | {"ours/ob",7} {"pack/ob",7} | {"pair o",7} {"pair p",7} | max rel diff");
        Console.WriteLine("(ours/ob, pack/ob: ratio of the GFLOP/s columns; pair o, pair p: median over runs of the ratio of back-to-back runs)");
        pairs ??= sizes.SelectMany(k => sizes.Select(n => (k, n))).ToArray();
        foreach (var (k, n) in pairs)
        {
            {
                using var operands = new GemmOperands(m, k, n, kernel);
                var ours = new double[repeats];
                var packed = new double[repeats];
                var theirs = new double[repeats];
                // Warm-up: JIT tiers, page faults of the outputs, OpenBLAS's thread start.
                operands.Ours(threads);
                operands.OursPacked(threads);
                if (peer)
                {
                    operands.Peer();
                }
                for (var r = 0; r < repeats; r++)
                {
                    ours[r] = Time(() => operands.Ours(threads));
                    packed[r] = Time(() => operands.OursPacked(threads));
                    theirs[r] = peer ? Time(operands.Peer) : double.NaN;
                }
                var gOurs = operands.GigaFlop / Pick(ours, best);
                var gPacked = operands.GigaFlop / Pick(packed, best);
                if (peer)
                {
                    var gPeer = operands.GigaFlop / Pick(theirs, best);
                    operands.Ours(threads);
                    // Ratios of runs taken back to back share the machine's load at that moment; their median is steadier than a ratio of medians.
                    var pairOurs = new double[repeats];
                    var pairPacked = new double[repeats];
                    for (var r = 0; r < repeats; r++)
                    {
                        pairOurs[r] = theirs[r] / ours[r];
                        pairPacked[r] = theirs[r] / packed[r];
                    }
                    Array.Sort(pairOurs);
                    Array.Sort(pairPacked);
                    Console.WriteLine($"{m,5} {k,5} {n,5} | {gOurs,7:F1} {gPacked,7:F1} {gPeer,8:F1} | {gOurs / gPeer,7:F3} {gPacked / gPeer,7:F3} | {pairOurs[repeats / 2],7:F3} {pairPacked[repeats / 2],7:F3} | {operands.MaxRelativeDifference():E2}");
                }
                else
                {
                    Console.WriteLine($"{m,5} {k,5} {n,5} | {gOurs,7:F1} {gPacked,7:F1} {"-",8} | {"-",7} {"-",7} | {"-",7} {"-",7} | -");
                }
            }
        }
        return 0;
    }

    private static double Time(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static double Pick(double[] values, bool best)
    {
        if (best)
        {
            return values.Min();
        }
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
