// `bench --in-flight N`: N images (batches) computed at once on the CPU, each on its own share of the cores, one model.
using System.Diagnostics;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Tensors;

namespace VcpNative.Cli.Bench;

/// <summary>What a throughput run measured: images per second over all pipelines, the mean seconds one batch took, and whether the pipelines agreed.</summary>
public sealed record ThroughputMeasurement(int InFlight, int ThreadsEach, double ImagesPerSecond, double SecondsPerBatch, double CpuSecondsPerImage, bool Identical);

/// <summary>
/// Runs <c>inFlight</c> pipelines on threads of their own, each with a CPU thread pool of <c>threads / inFlight</c>
/// threads, over the same loaded model (its weights are read-only during inference; tensors, tapes and scopes are per
/// thread). Every pipeline decodes, preprocesses and infers its own batches; the clock runs from the moment all have
/// finished warming up until the last one finishes.
/// </summary>
public static class ThroughputBenchmark
{
    public static ThroughputMeasurement Measure(BenchSettings s, IAnomalyInference inference, IBackend backend, int inFlight, int threads)
    {
        if (backend is IDeviceBackend)
        {
            throw new UsageException("bench: --in-flight applies to --device cpu (a GPU overlaps batches by itself: use --batch-size)");
        }
        var threadsEach = threads / inFlight;
        var png = PngEncoder.Encode(PipelineBenchmark.GeneratedImage(640, 480));
        var last = new AnomalyImageResult[inFlight][];
        var seconds = new double[inFlight];
        using var warmedUp = new Barrier(inFlight + 1);
        using var go = new ManualResetEventSlim(false);
        var errors = new Exception?[inFlight];
        var workers = new Thread[inFlight];
        for (var w = 0; w < inFlight; w++)
        {
            var index = w;
            workers[w] = new Thread(() =>
            {
                try
                {
                    using var pool = new CpuThreadPool(threadsEach);
                    using var entered = pool.Enter();
                    var input = new float[s.BatchSize * 3 * s.ImageSize * s.ImageSize];
                    for (var it = 0; it < s.Warmup; it++)
                    {
                        last[index] = RunBatch(s, inference, backend, png, input);
                    }
                    warmedUp.SignalAndWait();
                    go.Wait();
                    var clock = Stopwatch.StartNew();
                    for (var it = 0; it < s.Iterations; it++)
                    {
                        last[index] = RunBatch(s, inference, backend, png, input);
                    }
                    seconds[index] = clock.Elapsed.TotalSeconds;
                }
                catch (Exception e)
                {
                    errors[index] = e;
                    warmedUp.RemoveParticipant();
                }
            })
            { Name = $"bench-pipeline-{w + 1}", IsBackground = true };
            workers[w].Start();
        }
        warmedUp.SignalAndWait();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        go.Set();
        foreach (var worker in workers)
        {
            worker.Join();
        }
        var elapsed = wall.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            throw new InvalidOperationException($"bench: a pipeline failed: {error.Message}", error);
        }
        var images = (double)inFlight * s.BatchSize * s.Iterations;
        var identical = last.All(results => Same(results, last[0]));
        return new ThroughputMeasurement(inFlight, threadsEach, images / elapsed, seconds.Average() / s.Iterations, cpu / images, identical);
    }

    private static AnomalyImageResult[] RunBatch(BenchSettings s, IAnomalyInference inference, IBackend backend, byte[] png, float[] input)
    {
        var pixels = 3 * s.ImageSize * s.ImageSize;
        for (var i = 0; i < s.BatchSize; i++)
        {
            var image = ImageDecoder.Decode(png, "generated.png").ToRgb();
            ClipPreprocess.ToTensorData(image, s.ImageSize, input.AsSpan(i * pixels, pixels));
        }
        using var scope = new TensorScope();
        var images = Tensor.FromArray(input, [s.BatchSize, 3, s.ImageSize, s.ImageSize], backend);
        using var pending = inference.Launch(images);
        return pending.Collect();
    }

    // Same input, same model: pipelines on thread pools of the same size must give the same bits.
    private static bool Same(AnomalyImageResult[] a, AnomalyImageResult[] b) =>
        a.Length == b.Length && a.Zip(b).All(p => p.First.Score.Equals(p.Second.Score) && p.First.Map.AsSpan().SequenceEqual(p.Second.Map));

    public static void WriteTable(ThroughputMeasurement m, BenchSettings s, TextWriter o)
    {
        o.WriteLine($"  throughput: {m.InFlight} in flight x batch {s.BatchSize}, {m.ThreadsEach} thread(s) each: {m.ImagesPerSecond:F3} images/s");
        o.WriteLine($"  one batch takes {m.SecondsPerBatch:F3} s (latency of an image: up to that); process CPU {m.CpuSecondsPerImage:F2} s/image");
        o.WriteLine($"  pipelines agree bit for bit: {(m.Identical ? "yes" : "NO")}");
    }
}
