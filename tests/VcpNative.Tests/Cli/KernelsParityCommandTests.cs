// `vcp-native kernels parity` and `kernels registers` (the GPU check's golden and register steps) on the PTX emulator.
using System.Text.Json;
using VcpNative.Verification;
using VcpNative.Cli;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;

namespace VcpNative.Tests.Cli;

public class KernelsParityCommandTests
{
    [Fact]
    public void Parity_of_a_training_step_on_the_emulator_passes_and_writes_json()
    {
        using var dir = new TempDirectory("parity");
        var json = Path.Combine(dir.Path, "parity.json");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["kernels", "parity", "--device", "emulated", "--fixtures", Fixtures.Path(), "--cases", "vip2-train-step-112", "--json", json], stdout, stderr);
        var text = stdout.ToString();
        Assert.True(code == ExitCodes.Ok, text + stderr);
        Assert.Contains("3 passed, 0 failed", text);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["loss", "gradients", "parameters"], rows.Select(r => r.GetProperty("quantity").GetString()!.Split(' ')[0]));
        Assert.All(rows, r => Assert.True(r.GetProperty("passed").GetBoolean()));
        Assert.All(rows, r => Assert.InRange(r.GetProperty("vs_reference").GetDouble(), 0, r.GetProperty("bound").GetDouble()));
    }

    [Fact]
    public void A_fixture_off_by_one_percent_fails_the_loss_row()
    {
        // The same case against a copy of the fixtures whose reference loss is 1 % off: the comparison must catch it.
        using var dir = new TempDirectory("parity");
        CopyDirectory(Fixtures.Path(), dir.Path);
        ScaleTensor(Path.Combine(dir.Path, "vip2", "train_step.safetensors"), "loss", 1.01f);
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var rows = GoldenParity.Run(new GoldenParityOptions(dir.Path, Bf16: false, Cases: ["vip2-train-step-112"]), gpu, CpuBackend.Instance);
        var loss = Assert.Single(rows, r => r.Quantity == "loss");
        Assert.False(loss.Passed);
        Assert.InRange(loss.VsReference, 9e-3, 1.1e-2);
        Assert.InRange(loss.VsCpu, 0, 1e-4);        // the device still agrees with the CPU
    }

    [Fact]
    public void Unknown_case_is_a_one_line_usage_error()
    {
        var stderr = new StringWriter();
        var code = CliApp.Run(["kernels", "parity", "--device", "emulated", "--fixtures", Fixtures.Path(), "--cases", "vcp-infer-224"], new StringWriter(), stderr);
        Assert.NotEqual(ExitCodes.Ok, code);
        Assert.Contains("unknown golden case 'vcp-infer-224'", stderr.ToString());
        Assert.Single(stderr.ToString().Trim().Split('\n'));
    }

    [Fact]
    public void Registers_lists_every_shipped_kernel_with_its_liveness_estimate()
    {
        var stdout = new StringWriter();
        var code = CliApp.Run(["kernels", "registers", "--json"], stdout, new StringWriter());
        Assert.Equal(ExitCodes.Ok, code);
        using var doc = JsonDocument.Parse(stdout.ToString());
        var rows = doc.RootElement.EnumerateArray().ToList();
        var kernels = rows.Select(r => r.GetProperty("kernel").GetString()).ToHashSet();
        foreach (var name in new[] { "gemm_tc_bf16", "gemm_tc_bf16_wb16", "attention_forward_tc_bf16", "gemm_f32", "adam_step" })
        {
            Assert.Contains(name, kernels);
        }
        Assert.All(rows, r =>
        {
            var live = r.GetProperty("live_values").GetInt32();
            Assert.InRange(live, 1, 1000);
            Assert.Equal(Math.Min(255, live + 8), r.GetProperty("estimate").GetInt32());
            Assert.StartsWith("sm_", r.GetProperty("target").GetString());
        });
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Multiplies every value of one F32 tensor in a safetensors file in place (header: u64 length + JSON).</summary>
    private static void ScaleTensor(string path, string name, float factor)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var entry = header.RootElement.GetProperty(name);
        Assert.Equal("F32", entry.GetProperty("dtype").GetString());
        var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        for (var at = 8 + headerLength + offsets[0]; at < 8 + headerLength + offsets[1]; at += 4)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(at, 4), BitConverter.ToSingle(bytes, at) * factor);
        }
        File.WriteAllBytes(path, bytes);
    }
}
