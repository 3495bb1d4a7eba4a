// `bench --in-flight N`: N images (batches) computed at once on the CPU, each on its own share of the cores, one model.
using System.Diagnostics;
using VcpNative.Anomaly.Inference;
using VcpNative.IO.Images;
using VcpNative.Tensors;

namespace VcpNative.Cli.Bench;

/// <summary>What a throughput run measured: images per second over all pipelines, the mean seconds one batch took, and whether the pipelines agreed.</summary>
public sealed record ThroughputMeasurement(int InFlight, int ThreadsEach, double ImagesPerSecond, double SecondsPerBatch, double CpuSecondsPerImage, bool Identical);

/// <summary>
/// Times the product's own path: <see cref="ImageInferenceLoop"/> with <c>inFlight</c> CPU pipelines (what
/// <c>infer --in-flight</c> runs), decoding and preprocessing a generated PNG per input on its decoder thread. A first
/// run of warm-up batches, then a timed run of <c>inFlight x iterations</c> batches.
/// </summary>
public static class ThroughputBenchmark
{
    public static ThroughputMeasurement Measure(BenchSettings s, IAnomalyInference inference, IBackend backend, int inFlight, int threads)
    {
        if (backend is IDeviceBackend)
        {
            throw new UsageException("bench: --in-flight applies to --device cpu (a GPU overlaps batches by itself: use --batch-size)");
        }
        var png = PngEncoder.Encode(PipelineBenchmark.GeneratedImage(640, 480));
        var loop = new ImageInferenceLoop(inference, backend, s.BatchSize, inFlight: inFlight);
        var results = new List<AnomalyImageResult>();
        void Run(int batches)
        {
            results.Clear();
            var inputs = Enumerable.Range(0, batches * s.BatchSize).Select(i => ImageInput.FromEncoded(png, $"generated-{i}.png"));
            loop.Run(inputs, (_, result) => results.Add(result), (input, e) => throw new InvalidOperationException($"bench: {input.Name}: {e.Message}", e));
        }
        Run(inFlight * s.Warmup);
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Run(inFlight * s.Iterations);
        var elapsed = clock.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        var images = results.Count;
        // Same input, same model, pipelines of the same size: every result must be the same bits.
        var identical = results.All(r => r.Score.Equals(results[0].Score) && r.Map.AsSpan().SequenceEqual(results[0].Map));
        // Each pipeline computed Iterations batches one after another: that is how long one of its batches took.
        return new ThroughputMeasurement(inFlight, Math.Max(1, threads / inFlight), images / elapsed, elapsed / s.Iterations, cpu / images, identical);
    }

    public static void WriteTable(ThroughputMeasurement m, BenchSettings s, TextWriter o)
    {
        o.WriteLine($"  throughput: {m.InFlight} in flight x batch {s.BatchSize}, {m.ThreadsEach} thread(s) each: {m.ImagesPerSecond:F3} images/s");
        o.WriteLine($"  one batch takes {m.SecondsPerBatch:F3} s (latency of an image: up to that); process CPU {m.CpuSecondsPerImage:F2} s/image");
        o.WriteLine($"  pipelines agree bit for bit: {(m.Identical ? "yes" : "NO")}");
    }
}
