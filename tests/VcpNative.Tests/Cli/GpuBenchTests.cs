// The GPU check's measurement commands on the PTX emulator: kernels bench (every case, results checked), bench on a
// device backend (device fields, stage times), and --gpu-matmul's refusal on the CPU.
using System.Text.Json;
using VcpNative.Cli;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;

namespace VcpNative.Tests.Cli;

public class GpuBenchTests
{
    [Fact]
    public void Kernels_bench_on_the_emulator_times_every_case_and_checks_each_result()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["kernels", "bench", "--device", "emulated", "--batch-sizes", "1,2", "--json"], stdout, stderr);
        Assert.True(code == ExitCodes.Ok, stderr.ToString());
        using var doc = JsonDocument.Parse(stdout.ToString());
        Assert.True(doc.RootElement.GetProperty("emulated").GetBoolean());
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        foreach (var batch in new[] { 1, 2 })
        {
            foreach (var c in new[] { "qkv", "out_proj", "fc1", "fc2" })
            {
                var pair = rows.Where(r => r.GetProperty("case").GetString() == c && r.GetProperty("batch").GetInt32() == batch).ToList();
                Assert.Equal(["gemm_tc_bf16_wb16", "linear_f32"], pair.Select(r => r.GetProperty("kernel").GetString()));
                Assert.All(pair, r => Assert.Equal(37 * batch, r.GetProperty("m").GetInt32()));
            }
            Assert.Equal(2, rows.Count(r => r.GetProperty("case").GetString() == "attention" && r.GetProperty("batch").GetInt32() == batch));
        }
        foreach (var r in rows)
        {
            var kernel = r.GetProperty("kernel").GetString()!;
            // bf16 inputs: 8 mantissa bits (a few 1e-3 of the largest output); fp32 kernels agree with the CPU closely.
            var bound = kernel.Contains("tc", StringComparison.Ordinal) ? 1e-2 : 1e-5;
            Assert.InRange(r.GetProperty("max_rel_diff").GetDouble(), 0, bound);
            Assert.True(r.GetProperty("ms").GetDouble() > 0);
            Assert.Contains("emulator", r.GetProperty("note").GetString());
        }
    }

    [Fact]
    public void Bench_on_a_device_backend_reports_the_device_and_its_memory()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["bench", "--random-weights", "--arch", "tiny", "--image-size", "28", "--batch-size", "2", "--iterations", "1", "--warmup", "0",
                               "--device", "emulated", "--json"], stdout, stderr);
        Assert.True(code == ExitCodes.Ok, stderr.ToString());
        using var doc = JsonDocument.Parse(stdout.ToString());
        var gpu = doc.RootElement.GetProperty("gpu");
        Assert.StartsWith("PTX emulator", gpu.GetProperty("name").GetString());
        Assert.Equal("gemm_f32 kernel", gpu.GetProperty("matmul").GetString());
        // The tiny CLIP's weights alone are ~17 MB on the device.
        Assert.InRange(gpu.GetProperty("peak_device_mb").GetDouble(), 10, 1000);
        var stages = doc.RootElement.GetProperty("stages_s_per_batch");
        Assert.True(stages.GetProperty("image_tower").GetDouble() > 0);
        Assert.True(stages.GetProperty("text_heads").GetDouble() > 0);
    }

    [Fact]
    public void Gpu_matmul_kernel_is_refused_on_the_cpu_in_one_line()
    {
        var stderr = new StringWriter();
        var code = CliApp.Run(["bench", "--random-weights", "--arch", "tiny", "--gpu-matmul", "kernel"], new StringWriter(), stderr);
        Assert.NotEqual(ExitCodes.Ok, code);
        Assert.Contains("--gpu-matmul kernel", stderr.ToString());
        Assert.Single(stderr.ToString().Trim().Split('\n'));
    }

    [Fact]
    public void Buffer_pool_tracks_what_it_holds_and_its_peak()
    {
        using var driver = new PtxEmulator();
        using var pool = new GpuBufferPool(driver) { MaxPooledBytes = 100 };
        var a = pool.Rent(64);
        var b = pool.Rent(32);
        Assert.Equal(96, pool.AllocatedBytes);
        pool.Return(a, 64);                 // pooled: still held
        Assert.Equal(96, pool.AllocatedBytes);
        var c = pool.Rent(64);              // a hit: nothing new from the driver
        Assert.Equal(96, pool.PeakAllocatedBytes);
        var d = pool.Rent(128);             // over the pool's cap when returned: freed
        Assert.Equal(224, pool.PeakAllocatedBytes);
        pool.Return(d, 128);
        Assert.Equal(96, pool.AllocatedBytes);
        pool.ResetPeak();
        Assert.Equal(96, pool.PeakAllocatedBytes);
        pool.Return(b, 32);
        pool.Return(c, 64);
        pool.Clear();
        Assert.Equal(0, pool.AllocatedBytes);
    }
}
