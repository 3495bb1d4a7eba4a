// `vcp-native bench`: times whole-pipeline VCP-CLIP inference per stage (decode, image tower, text + heads, post).
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Cli.Commands;

/// <summary>
/// Builds the model (random weights of a named architecture, or weight files), runs warm-up then timed iterations on a
/// generated 640x480 PNG decoded and resized like a real input, and reports mean seconds per stage, images/s, achieved
/// GFLOP/s (analytic count, <see cref="VcpFlopCount"/>) and the peak resident memory of the process.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var random = new Option<bool>("--random-weights") { Description = "Use seeded random weights of --arch instead of weight files" };
        var arch = new Option<string>("--arch") { Description = "Architecture for --random-weights: vit-l-14-336, tiny", DefaultValueFactory = _ => "vit-l-14-336" };
        var method = new Option<string>("--method") { Description = "Method to time", DefaultValueFactory = _ => "vcp" };
        method.AcceptOnlyFromAmong("vcp");
        var clip = new Option<string?>("--clip") { Description = "CLIP weights (when not using --random-weights)" };
        var head = new Option<string?>("--head") { Description = "VCP-CLIP heads (when not using --random-weights)" };
        var size = new Option<int>("--image-size") { Description = "Square input size in pixels", DefaultValueFactory = _ => 518 };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };
        var iterations = new Option<int>("--iterations") { Description = "Timed iterations", DefaultValueFactory = _ => 3 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed iterations first", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table" };
        var profile = new Option<bool>("--profile") { Description = "Also time the phases of every transformer block (adds a little overhead)" };
        var weightsFormat = WeightsFormatOption.Create("Storage of the CLIP blocks' linear weights for --random-weights (a file's own format is read from the file)");
        var compare = new Option<bool>("--compare-f32")
        {
            Description = "With --random-weights: also build the f32 model (same seed), run it on the last image and report the max abs difference of maps and scores (adds its memory to the peak)",
        };
        var command = new Command("bench", "Time VCP-CLIP inference per stage (decode+preprocess, image tower, text+heads, post-processing)")
        {
            random, arch, method, clip, head, size, batch, iterations, warmup, seed, json, profile, weightsFormat, compare,
        };
        command.SetAction(parse => Run(new BenchSettings(
            parse.GetValue(random), parse.GetValue(arch)!, parse.GetValue(method)!, parse.GetValue(clip), parse.GetValue(head),
            parse.GetValue(size), parse.GetValue(batch), parse.GetValue(iterations), parse.GetValue(warmup), parse.GetValue(seed),
            parse.GetValue(json), parse.GetValue(profile), parse.GetValue(GlobalOptions.Device) ?? "cpu",
            WeightsFormatOption.Parse(parse.GetValue(weightsFormat)), parse.GetValue(compare)),
            GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public sealed record BenchSettings(bool RandomWeights, string Arch, string Method, string? Clip, string? Head, int ImageSize,
        int BatchSize, int Iterations, int Warmup, int Seed, bool Json, bool Profile, string Device,
        LinearWeightFormat WeightsFormat = LinearWeightFormat.F32, bool CompareF32 = false);

    /// <summary>The GPU a bench ran on: name, matmul path, device memory (the backend's buffer-pool high-water mark).</summary>
    public sealed record DeviceReport(string Name, string MatMulPath, DeviceMemoryUse Memory);

    /// <summary>Max abs difference of the final maps and of the image scores against the f32 model (--compare-f32).</summary>
    public sealed record F32Difference(double MapMaxAbs, double ScoreMaxAbs);

    /// <summary>Mean seconds per batch of each stage over the timed iterations.</summary>
    public sealed record StageTimes(double Decode, double Vision, double Heads, double Post)
    {
        public double Total => Decode + Vision + Heads + Post;
    }

    public static int Run(BenchSettings s, IBackend backend, TextWriter output, TextWriter error)
    {
        if (s.ImageSize < 14 || s.ImageSize > 4096 || s.BatchSize < 1 || s.Iterations < 1 || s.Warmup < 0)
        {
            throw new ArgumentException($"bench: need 14 <= --image-size <= 4096, --batch-size >= 1, --iterations >= 1, --warmup >= 0 (got {s.ImageSize}, {s.BatchSize}, {s.Iterations}, {s.Warmup})");
        }
        if (!s.RandomWeights && (s.WeightsFormat != LinearWeightFormat.F32 || s.CompareF32))
        {
            throw new ArgumentException("bench: --weights-format and --compare-f32 apply to --random-weights; a weight file's format is read from the file (vcp-native convert clip --weights-format)");
        }
        var build = Stopwatch.StartNew();
        using var model = LoadModel(s, backend);
        var buildSeconds = build.Elapsed.TotalSeconds;
        // On a device backend each stage is waited for, so the per-stage times are device times (the total is the same
        // either way: the read-back waits for everything).
        var device = backend as IDeviceBackend;
        var inference = new VcpInference(model, s.ImageSize) { SynchronizeStages = device is not null };
        var decodeWorkers = ImageInferenceLoop.DecodeWorkers(backend, s.BatchSize);
        var png = PngEncoder.Encode(GeneratedImage(640, 480));
        var sum = new StageTimes(0, 0, 0, 0);
        var best = double.MaxValue;
        var inputData = new float[s.BatchSize * 3 * s.ImageSize * s.ImageSize];
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
        var weightBytes = model.Clip.Parameters.StorageBytes;
        var difference = s.CompareF32 ? CompareWithF32(s, backend, inputData, last) : null;
        var c = model.Clip.Config;
        var flops = VcpFlopCount.PerImage(c, model.Heads.R, model.Heads.N, model.Heads.FeatureLayers, s.ImageSize);
        var batchFlops = flops.Total * s.BatchSize;
        var report = new BenchReport(s, backend.Name, buildSeconds, mean, best, flops, s.BatchSize / mean.Total,
            batchFlops / (mean.Vision + mean.Heads) / 1e9, flops.Vision * s.BatchSize / mean.Vision / 1e9, PeakResidentBytes(), phases, cpuSeconds,
            weightBytes, difference, device is null ? null : new DeviceReport(device.DeviceDescription, device.MatMulPath, device.Memory));
        if (s.Json)
        {
            output.WriteLine(report.ToJson());
        }
        else
        {
            report.WriteTable(output);
        }
        return ExitCodes.Ok;
    }

    /// <summary>Runs the f32 model of the same architecture and seed on the same input batch and compares with <paramref name="results"/>.</summary>
    private static F32Difference CompareWithF32(BenchSettings s, IBackend backend, float[] inputData, AnomalyImageResult[] results)
    {
        using var reference = VcpModel.Random(ModelArchitecture.ByName(s.Arch), s.Seed, backend);
        var inference = new VcpInference(reference, s.ImageSize);
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

    private static VcpModel LoadModel(BenchSettings s, IBackend backend)
    {
        if (s.RandomWeights)
        {
            return VcpModel.Random(ModelArchitecture.ByName(s.Arch), s.Seed, backend, s.WeightsFormat);
        }
        if (s.Clip is null || s.Head is null)
        {
            throw new ArgumentException("bench: pass --random-weights, or both --clip and --head");
        }
        return VcpModel.Load(s.Clip, s.Head, backend);
    }

    /// <summary>A smooth colour pattern with noise and a bright patch (compresses like a photo, not like a flat image).</summary>
    internal static RgbImage GeneratedImage(int width, int height)
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

    private sealed record BenchReport(BenchSettings S, string Backend, double BuildSeconds, StageTimes Mean, double BestTotal,
        VcpFlops Flops, double ImagesPerSecond, double Gflops, double VisionGflops, long PeakRss, double[]? Phases, double CpuSeconds,
        long ClipWeightBytes, F32Difference? Difference, DeviceReport? Device)
    {
        public string ToJson()
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartObject();
                w.WriteString("method", S.Method);
                w.WriteString("arch", S.RandomWeights ? S.Arch : "weights");
                w.WriteBoolean("random_weights", S.RandomWeights);
                w.WriteString("device", S.Device);
                w.WriteString("backend", Backend);
                w.WriteNumber("threads", CpuParallel.Threads);
                w.WriteString("gemm_kernel", Sgemm.KernelName);
                w.WriteString("build", NativeBuild.Name);
                w.WriteString("build_reason", NativeBuild.Reason);
                w.WriteNumber("image_size", S.ImageSize);
                w.WriteNumber("batch_size", S.BatchSize);
                w.WriteNumber("iterations", S.Iterations);
                w.WriteNumber("warmup", S.Warmup);
                w.WriteNumber("model_build_s", BuildSeconds);
                w.WriteStartObject("stages_s_per_batch");
                w.WriteNumber("decode_preprocess", Mean.Decode);
                w.WriteNumber("image_tower", Mean.Vision);
                w.WriteNumber("text_heads", Mean.Heads);
                w.WriteNumber("postprocess", Mean.Post);
                w.WriteNumber("total", Mean.Total);
                w.WriteEndObject();
                w.WriteNumber("best_total_s_per_batch", BestTotal);
                // CPU seconds of the whole process per batch: on a shared machine, wall time above cpu_s / threads means waiting.
                w.WriteNumber("cpu_s_per_batch", CpuSeconds);
                w.WriteNumber("images_per_s", ImagesPerSecond);
                w.WriteNumber("gflop_per_image", Flops.Total / 1e9);
                w.WriteNumber("gflop_per_image_vision", Flops.Vision / 1e9);
                w.WriteNumber("achieved_gflops", Gflops);
                w.WriteNumber("achieved_gflops_vision", VisionGflops);
                w.WriteNumber("peak_rss_mb", PeakRss / (1024.0 * 1024.0));
                w.WriteString("weights_format", LinearWeightFormats.Name(S.WeightsFormat));
                w.WriteNumber("clip_weight_mb", ClipWeightBytes / (1024.0 * 1024.0));
                if (Device is not null)
                {
                    // Stage times above are device times (each stage waited for); memory is the backend's own.
                    w.WriteStartObject("gpu");
                    w.WriteString("name", Device.Name);
                    w.WriteString("matmul", Device.MatMulPath);
                    w.WriteNumber("peak_device_mb", Device.Memory.PeakAllocatedBytes / (1024.0 * 1024.0));
                    w.WriteString("peak_device_measure", "buffer-pool high-water mark over the timed iterations, weights included; excludes the CUDA context and cuBLAS workspace");
                    w.WriteNumber("device_total_mb", Device.Memory.TotalBytes / (1024.0 * 1024.0));
                    w.WriteEndObject();
                }
                if (Difference is not null)
                {
                    w.WriteNumber("map_max_abs_diff_vs_f32", Difference.MapMaxAbs);
                    w.WriteNumber("score_max_abs_diff_vs_f32", Difference.ScoreMaxAbs);
                }
                if (Phases is not null)
                {
                    w.WriteStartObject("block_phases_s_per_batch");
                    for (var i = 0; i < Phases.Length; i++)
                    {
                        w.WriteNumber(BlockProfile.PhaseNames[i], Phases[i]);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            return System.Text.Encoding.UTF8.GetString(stream.ToArray());
        }

        public void WriteTable(TextWriter o)
        {
            o.WriteLine($"bench: {S.Method} {(S.RandomWeights ? S.Arch + " (random weights)" : "weights")} at {S.ImageSize} px, batch {S.BatchSize}, {CpuParallel.Threads} threads, {Backend} ({Sgemm.KernelName}, {NativeBuild.Name}); model built in {BuildSeconds:F1} s");
            o.WriteLine($"  {"stage",-22} {"s/batch",10} {"s/image",10}");
            void Row(string name, double v) => o.WriteLine($"  {name,-22} {v,10:F3} {v / S.BatchSize,10:F3}");
            Row("decode+preprocess", Mean.Decode);
            Row("image tower", Mean.Vision);
            Row("text tower + heads", Mean.Heads);
            Row("post-processing", Mean.Post);
            Row("total", Mean.Total);
            o.WriteLine($"  best total {BestTotal:F3} s/batch; {ImagesPerSecond:F3} images/s; process CPU time {CpuSeconds:F2} s/batch");
            o.WriteLine($"  {Flops.Total / 1e9:F1} GFLOP/image ({Flops.Vision / 1e9:F1} image tower); achieved {Gflops:F1} GFLOP/s (image tower {VisionGflops:F1})");
            o.WriteLine($"  peak resident memory {PeakRss / (1024.0 * 1024.0):F0} MiB; CLIP weights {ClipWeightBytes / (1024.0 * 1024.0):F0} MiB ({LinearWeightFormats.Name(S.WeightsFormat)} linear weights)");
            if (Device is not null)
            {
                o.WriteLine($"  device {Device.Name}, matmul {Device.MatMulPath}; stage times waited for on the device; peak device memory {Device.Memory.PeakAllocatedBytes / (1024.0 * 1024.0):F0} MiB (buffer pool, weights included)");
            }
            if (Difference is not null)
            {
                o.WriteLine($"  vs f32 weights (same seed, last batch): max |map diff| {Difference.MapMaxAbs:G3}, max |score diff| {Difference.ScoreMaxAbs:G3}");
            }
            if (Phases is not null)
            {
                o.WriteLine("  transformer block phases (both towers, s/batch):");
                for (var i = 0; i < Phases.Length; i++)
                {
                    o.WriteLine($"    {BlockProfile.PhaseNames[i],-20} {Phases[i],8:F3}");
                }
            }
        }
    }
}
