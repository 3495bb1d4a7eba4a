// `vcp-native bench`: times whole-pipeline inference of a method per stage (decode, image tower, text + heads, post).
using System.CommandLine;
using System.Diagnostics;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Cli.Bench;
using VcpNative.Models;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Cli.Commands;

/// <summary>
/// Builds the model (random weights of a named architecture, or weight files), runs warm-up then timed iterations on a
/// generated 640x480 PNG decoded and resized like a real input, and reports mean seconds per stage, images/s, achieved
/// GFLOP/s (the method's analytic count) and the peak resident memory of the process.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var random = new Option<bool>("--random-weights") { Description = "Use seeded random weights of --arch instead of weight files" };
        var arch = new Option<string>("--arch") { Description = "Architecture for --random-weights: vit-l-14-336, tiny", DefaultValueFactory = _ => "vit-l-14-336" };
        var method = new Option<string>("--method") { Description = "Method to time: " + string.Join(", ", AnomalyMethods.Names), DefaultValueFactory = _ => AnomalyMethods.Default.Name };
        method.AcceptOnlyFromAmong(AnomalyMethods.Names);
        var clip = new Option<string?>("--clip") { Description = "CLIP weights (when not using --random-weights)" };
        var head = new Option<string?>("--head") { Description = "Heads of --method (when not using --random-weights)" };
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
        var compute = ComputeOption.Create();
        var inFlight = new Option<int>("--in-flight")
        {
            Description = "CPU throughput mode: this many batches computed at once, each on --threads / N threads, one model in memory (prints images/s over all of them)",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("bench", "Time VCP-CLIP or ViP2-CLIP inference per stage (decode+preprocess, image tower, text+heads, post-processing)")
        {
            random, arch, method, clip, head, size, batch, iterations, warmup, seed, json, profile, weightsFormat, compare, compute, inFlight,
        };
        command.SetAction(parse =>
        {
            var backend = GlobalOptions.ResolveBackend(parse);
            return Run(new BenchSettings(
                parse.GetValue(random), parse.GetValue(arch)!, parse.GetValue(method)!, parse.GetValue(clip), parse.GetValue(head),
                parse.GetValue(size), parse.GetValue(batch), parse.GetValue(iterations), parse.GetValue(warmup), parse.GetValue(seed),
                parse.GetValue(json), parse.GetValue(profile), parse.GetValue(GlobalOptions.Device) ?? "cpu",
                WeightsFormatOption.Parse(parse.GetValue(weightsFormat)), parse.GetValue(compare), ComputeOption.Read(parse, compute, backend), parse.GetValue(inFlight)),
                backend, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    public static int Run(BenchSettings s, IBackend backend, TextWriter output, TextWriter error)
    {
        if (s.ImageSize < 14 || s.ImageSize > 4096 || s.BatchSize < 1 || s.Iterations < 1 || s.Warmup < 0)
        {
            throw new UsageException($"bench: need 14 <= --image-size <= 4096, --batch-size >= 1, --iterations >= 1, --warmup >= 0 (got {s.ImageSize}, {s.BatchSize}, {s.Iterations}, {s.Warmup})");
        }
        if (s.InFlight < 1 || s.InFlight > CpuParallel.Threads)
        {
            throw new UsageException($"bench: --in-flight must be between 1 and --threads ({CpuParallel.Threads}), found {s.InFlight}");
        }
        if (!s.RandomWeights && (s.WeightsFormat != LinearWeightFormat.F32 || s.CompareF32))
        {
            throw new UsageException("bench: --weights-format and --compare-f32 apply to --random-weights; a weight file's format is read from the file (vcp-native convert clip --weights-format)");
        }
        var method = AnomalyMethods.ByName(s.Method, "--method");
        var build = Stopwatch.StartNew();
        using var model = LoadModel(s, method, backend);
        var buildSeconds = build.Elapsed.TotalSeconds;
        if (s.InFlight > 1)
        {
            return RunThroughput(s, model, backend, buildSeconds, output);
        }
        var device = backend as IDeviceBackend;
        var m = PipelineBenchmark.Measure(s, (IStageTimedInference)model.Inference, backend, error);
        var difference = s.CompareF32 ? PipelineBenchmark.CompareWithF32(s, method, backend, m.InputData, m.Last) : null;
        var flops = method.FlopCount(model, s.ImageSize);
        var batchFlops = flops.Total * s.BatchSize;
        var mean = m.Mean;
        var report = new BenchReport(s, backend.Name, buildSeconds, mean, m.BestTotal, flops, s.BatchSize / mean.Total,
            batchFlops / (mean.Vision + mean.Heads) / 1e9, flops.Vision * s.BatchSize / mean.Vision / 1e9, PipelineBenchmark.PeakResidentBytes(), m.Phases, m.CpuSeconds,
            model.Clip!.Parameters.StorageBytes, difference, device is null ? null : new DeviceReport(device.DeviceDescription, device.MatMulPath, device.Memory));
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

    private static int RunThroughput(BenchSettings s, LoadedAnomalyModel model, IBackend backend, double buildSeconds, TextWriter output)
    {
        if (s.Profile || s.CompareF32)
        {
            throw new UsageException("bench: --in-flight times whole batches only; drop --profile and --compare-f32");
        }
        var t = ThroughputBenchmark.Measure(s, model.Inference, backend, s.InFlight, CpuParallel.Threads);
        if (s.Json)
        {
            // Utf8JsonWriter, not JsonSerializer: reflection-based serialisation is refused by the NativeAOT build.
            using var buffer = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("method", s.Method);
                w.WriteString("arch", s.Arch);
                w.WriteNumber("image_size", s.ImageSize);
                w.WriteNumber("batch_size", s.BatchSize);
                w.WriteNumber("in_flight", t.InFlight);
                w.WriteNumber("threads_each", t.ThreadsEach);
                w.WriteString("gemm_kernel", Sgemm.KernelName);
                w.WriteString("gemm_blocking", Sgemm.KernelBlocking);
                w.WriteNumber("images_per_s", t.ImagesPerSecond);
                w.WriteNumber("s_per_batch", t.SecondsPerBatch);
                w.WriteNumber("cpu_s_per_image", t.CpuSecondsPerImage);
                w.WriteBoolean("identical", t.Identical);
                w.WriteNumber("peak_resident_bytes", PipelineBenchmark.PeakResidentBytes());
                w.WriteEndObject();
            }
            output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        }
        else
        {
            output.WriteLine($"bench: {s.Method} {(s.RandomWeights ? s.Arch + " (random weights)" : "weights")} at {s.ImageSize} px, {CpuParallel.Threads} threads, cpu ({Sgemm.KernelName}, {NativeBuild.Name}); model built in {buildSeconds:F1} s");
            ThroughputBenchmark.WriteTable(t, s, output);
            output.WriteLine($"  peak resident memory {PipelineBenchmark.PeakResidentBytes() / (1024 * 1024)} MiB");
        }
        return t.Identical ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static LoadedAnomalyModel LoadModel(BenchSettings s, IAnomalyMethod method, IBackend backend)
    {
        var model = LoadWeights(s, method, backend);
        try
        {
            model.UseImageBlockCompute(s.Compute);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static LoadedAnomalyModel LoadWeights(BenchSettings s, IAnomalyMethod method, IBackend backend)
    {
        if (s.RandomWeights)
        {
            return method.Random(ModelArchitecture.ByName(s.Arch), s.Seed, s.ImageSize, backend, s.WeightsFormat);
        }
        if (s.Clip is null || s.Head is null)
        {
            throw new UsageException("bench: pass --random-weights, or both --clip and --head");
        }
        return method.Load(s.Clip, s.Head, s.ImageSize, backend);
    }
}
