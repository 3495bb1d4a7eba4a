// What `bench` measured, as one JSON object or a table: stage times, throughput, FLOP/s, memory, build and device facts.
using System.Text.Json;
using VcpNative.Anomaly.Inference;
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Cli.Bench;

/// <summary>The options of one `bench` run, as parsed.</summary>
public sealed record BenchSettings(bool RandomWeights, string Arch, string Method, string? Clip, string? Head, int ImageSize,
    int BatchSize, int Iterations, int Warmup, int Seed, bool Json, bool Profile, string Device,
    LinearWeightFormat WeightsFormat = LinearWeightFormat.F32, bool CompareF32 = false, LinearCompute Compute = LinearCompute.Fp32, int InFlight = 1);

/// <summary>The GPU a bench ran on: name, matmul path, device memory (the backend's buffer-pool high-water mark).</summary>
public sealed record DeviceReport(string Name, string MatMulPath, DeviceMemoryUse Memory);

/// <summary>Max abs difference of the final maps and of the image scores against the f32 model (--compare-f32).</summary>
public sealed record F32Difference(double MapMaxAbs, double ScoreMaxAbs);

/// <summary>Mean seconds per batch of each stage over the timed iterations.</summary>
public sealed record StageTimes(double Decode, double Vision, double Heads, double Post)
{
    /// <summary>Sum of the four stages.</summary>
    public double Total => Decode + Vision + Heads + Post;
}

/// <summary>One bench run's measurements and the settings they were taken with.</summary>
internal sealed record BenchReport(BenchSettings S, string Backend, double BuildSeconds, StageTimes Mean, double BestTotal,
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
            w.WriteString("gemm_blocking", Sgemm.KernelBlocking);
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
            w.WriteString("compute", S.Compute == LinearCompute.Int8 ? "int8" : "fp32");
            if (S.Compute == LinearCompute.Int8)
            {
                w.WriteString("int8_kernel", CpuBackend.Int8KernelName);
            }
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
        o.WriteLine($"bench: {S.Method} {(S.RandomWeights ? S.Arch + " (random weights)" : "weights")} at {S.ImageSize} px, batch {S.BatchSize}, {CpuParallel.Threads} threads, {Backend} ({Sgemm.KernelName}{(S.Compute == LinearCompute.Int8 ? ", int8 blocks: " + CpuBackend.Int8KernelName : "")}, {NativeBuild.Name}); model built in {BuildSeconds:F1} s");
        o.WriteLine($"  gemm {Sgemm.KernelName}: {Sgemm.KernelBlocking}");
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
