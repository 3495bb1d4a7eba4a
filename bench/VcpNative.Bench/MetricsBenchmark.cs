// Speed of the per-class pixel metrics (one bucketed sort) against a plain sort of the same scores, the floor of any sort-based method.
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using VcpNative.Anomaly.Metrics;

namespace VcpNative.Bench;

[MemoryDiagnoser]
public class MetricsBenchmark
{
    private float[] _maps = [];
    private byte[] _masks = [];

    [Params(20)]
    public int Images { get; set; }

    public const int Size = 518;

    [GlobalSetup]
    public void Setup() => (_maps, _masks) = MakeClass(Images, Size, seed: 1);

    /// <summary>Peer: Array.Sort of all pixel scores (no labels, no metrics).</summary>
    [Benchmark(Baseline = true)]
    public float SortAllScores()
    {
        var copy = (float[])_maps.Clone();
        Array.Sort(copy);
        return copy[copy.Length / 2];
    }

    [Benchmark]
    public double AllPixelMetrics() => PixelMetrics.Compute(_maps, _masks, Images, Size, Size).AuRoc.Value;

    /// <summary>One timed run on a VCP-sized class (200 maps of 518x518), printed as one line per step.</summary>
    public static void RunQuick(TextWriter output)
    {
        const int images = 200;
        var clock = Stopwatch.StartNew();
        (float[] maps, byte[] masks) = MakeClass(images, Size, seed: 1);
        output.WriteLine($"metrics: generated {images}x{Size}x{Size} maps in {clock.Elapsed.TotalSeconds:F2} s");
        clock.Restart();
        BinaryRankingResult r = PixelMetrics.Compute(maps, masks, images, Size, Size);
        double metricsSeconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"metrics: pixel AUROC/AP/F1/IoU/AUPRO/AUPRO@0.3 over {(long)images * Size * Size:E2} px in {metricsSeconds:F2} s " +
            $"(auroc {r.AuRoc.Value:F4}, aupro {r.Aupro.Value:F4}, aupro@0.3 {r.AuproAt30.Value:F4}, {Environment.ProcessorCount} cores)");
        clock.Restart();
        Array.Sort(maps);
        output.WriteLine($"metrics: peer Array.Sort of the same scores {clock.Elapsed.TotalSeconds:F2} s (ratio {metricsSeconds / clock.Elapsed.TotalSeconds:F2})");
    }

    /// <summary>Smooth-ish synthetic maps (low-frequency field + noise) with a few rectangular defects raising the score.</summary>
    public static (float[] Maps, byte[] Masks) MakeClass(int images, int size, int seed)
    {
        int pixels = size * size;
        var maps = new float[(long)images * pixels];
        var masks = new byte[maps.Length];
        Parallel.For(0, images, i =>
        {
            var rng = new Random(seed * 7919 + i);
            Span<float> map = maps.AsSpan(i * pixels, pixels);
            Span<byte> mask = masks.AsSpan(i * pixels, pixels);
            float fx = (float)(rng.NextDouble() * 0.05), fy = (float)(rng.NextDouble() * 0.05);
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    map[(y * size) + x] = (0.3f * MathF.Sin(fx * x) * MathF.Cos(fy * y)) + (0.2f * (float)rng.NextDouble());
                }
            }

            // About half the images are anomalous, with 1-3 rectangles.
            if ((i & 1) == 0)
            {
                int defects = rng.Next(1, 4);
                for (int d = 0; d < defects; d++)
                {
                    int h = rng.Next(4, 60), w = rng.Next(4, 60), y0 = rng.Next(0, size - h), x0 = rng.Next(0, size - w);
                    for (int y = y0; y < y0 + h; y++)
                    {
                        for (int x = x0; x < x0 + w; x++)
                        {
                            mask[(y * size) + x] = 1;
                            map[(y * size) + x] += 0.25f;
                        }
                    }
                }
            }
        });
        return (maps, masks);
    }
}
