// The timing loop of `bench`: warm-up, then timed iterations of decode+preprocess, image tower, text + heads, post.
using System.Diagnostics;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Cli.Bench;

/// <summary>What the timed iterations measured: mean and best stage times, block phases, CPU time, the last batch's input and results.</summary>
public sealed record BenchMeasurement(StageTimes Mean, double BestTotal, double[]? Phases, double CpuSeconds, float[] InputData, AnomalyImageResult[] Last);

/// <summary>
/// Runs a generated 640x480 PNG decoded and resized like a real input through a loaded method, stage by stage; on a
/// device backend each stage is waited for, so the per-stage times are device times (the total is the same either
/// way: the read-back waits for everything).
/// </summary>
public static class PipelineBenchmark
{
    /// <summary>Warm-up (reported on <paramref name="error"/> unless JSON), then <see cref="BenchSettings.Iterations"/> timed iterations.</summary>
    public static BenchMeasurement Measure(BenchSettings s, IStageTimedInference inference, IBackend backend, TextWriter error)
    {
        var device = backend as IDeviceBackend;
        inference.SynchronizeStages = device is not null;
        var inputData = new float[s.BatchSize * 3 * s.ImageSize * s.ImageSize];
        var decodeWorkers = ImageInferenceLoop.DecodeWorkers(backend, s.BatchSize);
        var png = PngEncoder.Encode(GeneratedImage(640, 480));
        var sum = new StageTimes(0, 0, 0, 0);
        var best = double.MaxValue;
        var profile = s.Profile ? new BlockProfile(device is not null ? device.Synchronize : null) : null;
        using var profiling = profile?.Enter();
        var cpuStart = TimeSpan.Zero;
        AnomalyImageResult[] last = [];
        for (var it = 0; it < s.Warmup + s.Iterations; it++)
        {
            if (it == s.Warmup)
            {
                device?.ResetPeakMemory();
                profile?.Reset();
                cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            }
            var sw = Stopwatch.StartNew();
            // As infer decodes: one thread on the CPU backend, in parallel on a device backend.
            Parallel.For(0, s.BatchSize, new ParallelOptions { MaxDegreeOfParallelism = decodeWorkers }, i =>
            {
                var image = ImageDecoder.Decode(png, "generated.png").ToRgb();
                ClipPreprocess.ToTensorData(image, s.ImageSize, inputData.AsSpan(i * 3 * s.ImageSize * s.ImageSize, 3 * s.ImageSize * s.ImageSize));
            });
            double decode;
            double collect;
            using (var scope = new TensorScope())
            {
                // The upload to a device counts with decoding (the PyTorch peer times its .to(device) there too).
                var images = Tensor.FromArray(inputData, [s.BatchSize, 3, s.ImageSize, s.ImageSize], backend);
                device?.Synchronize();
                decode = sw.Elapsed.TotalSeconds;
                using var pending = inference.Launch(images);
                var wait = Stopwatch.StartNew();
                last = pending.Collect();
                collect = wait.Elapsed.TotalSeconds;
            }
            // Without stage synchronisation the device time would land in the read-back, counted as post-processing.
            var (vision, heads, post) = inference.LastTimings;
            post += collect;
            if (it >= s.Warmup)
            {
                sum = new StageTimes(sum.Decode + decode, sum.Vision + vision, sum.Heads + heads, sum.Post + post);
                best = Math.Min(best, decode + vision + heads + post);
            }
            else if (!s.Json)
            {
                error.WriteLine($"bench: warm-up {it + 1}/{s.Warmup}: {decode + vision + heads + post:F2} s");
            }
        }
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds / s.Iterations;
        var phases = profile?.Snapshot();
        var n = s.Iterations;
        if (phases is not null)
        {
            for (var i = 0; i < phases.Length; i++)
            {
                phases[i] /= n;
            }
        }
        var mean = new StageTimes(sum.Decode / n, sum.Vision / n, sum.Heads / n, sum.Post / n);
        return new BenchMeasurement(mean, best, phases, cpuSeconds, inputData, last);
    }

    /// <summary>Runs the f32 model of the same architecture and seed on the same input batch and compares with <paramref name="results"/>.</summary>
    public static F32Difference CompareWithF32(BenchSettings s, IAnomalyMethod method, IBackend backend, float[] inputData, AnomalyImageResult[] results)
    {
        using var reference = method.Random(ModelArchitecture.ByName(s.Arch), s.Seed, s.ImageSize, backend, LinearWeightFormat.F32);
        var inference = reference.Inference;
        AnomalyImageResult[] expected;
        using (new TensorScope())
        {
            var images = Tensor.FromArray(inputData, [s.BatchSize, 3, s.ImageSize, s.ImageSize], backend);
            using var pending = inference.Launch(images);
            expected = pending.Collect();
        }
        double map = 0;
        double score = 0;
        for (var i = 0; i < results.Length; i++)
        {
            score = Math.Max(score, Math.Abs((double)results[i].Score - expected[i].Score));
            for (var j = 0; j < results[i].Map.Length; j++)
            {
                map = Math.Max(map, Math.Abs((double)results[i].Map[j] - expected[i].Map[j]));
            }
        }
        return new F32Difference(map, score);
    }

    /// <summary>A smooth colour pattern with noise and a bright patch (compresses like a photo, not like a flat image).</summary>
    public static RgbImage GeneratedImage(int width, int height)
    {
        var image = new RgbImage(width, height);
        var rng = new System.Random(7);
        var px = image.Pixels;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = 3 * (y * width + x);
                var patch = x > width / 2 && x < width / 2 + 60 && y > height / 3 && y < height / 3 + 40;
                px[i] = (byte)(patch ? 250 : Math.Clamp((x * 0.4) + rng.Next(24), 0, 255));
                px[i + 1] = (byte)(patch ? 30 : Math.Clamp((y * 0.5) + rng.Next(24), 0, 255));
                px[i + 2] = (byte)(patch ? 30 : Math.Clamp(((x + y) * 0.2) + rng.Next(24), 0, 255));
            }
        }
        return image;
    }

    /// <summary>Peak resident set size: VmHWM from /proc/self/status on Linux, else the peak working set.</summary>
    public static long PeakResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
