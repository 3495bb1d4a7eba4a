// `vcp-native kernels verify` on the PTX emulator: a table row per case, the host-fallback list, exit code 0.
using VcpNative.Cli;
using VcpNative.Tensors.Cuda;
using Xunit;
using VcpNative.Verification;

namespace VcpNative.Tests.Cli;

public class KernelsCommandTests
{
    [Fact]
    public void Verify_on_the_emulator_passes_and_lists_the_host_fallback_ops()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["kernels", "verify", "--device", "emulated"], stdout, stderr);
        var text = stdout.ToString();
        Assert.True(code == ExitCodes.Ok, text + stderr);
        var lines = text.Split('\n');
        foreach (var c in KernelVerification.Cases)
        {
            Assert.Contains(lines, l => l.StartsWith(c.Op + " ", StringComparison.Ordinal) && l.TrimEnd().EndsWith("pass", StringComparison.Ordinal));
        }
        Assert.Contains($"{KernelVerification.Cases.Count} passed, 0 failed", text);
        Assert.Contains("attention_forward", text);
        Assert.DoesNotContain("FAIL", text);
    }

    [Fact]
    public void Cuda_device_without_a_driver_fails_with_one_line()
    {
        if (System.IO.File.Exists("/dev/nvidiactl"))
        {
            return; // a machine with an NVIDIA driver: the command would run on the GPU instead
        }
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["kernels", "verify", "--device", "cuda"], stdout, stderr);
        Assert.Equal(ExitCodes.Failure, code);
        var err = stderr.ToString().Trim();
        Assert.Single(err.Split('\n'));
        Assert.Contains("libcuda", err);
    }

    [Fact]
    public void Profile_prints_mix_traffic_conflicts_occupancy_and_roofline()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["kernels", "profile", "gemm_tc", "--shape", "256x128x64", "--gpu", "orin"], stdout, stderr);
        var text = stdout.ToString();
        Assert.True(code == ExitCodes.Ok, text + stderr);
        Assert.Contains("shape 256x128x64", text);
        Assert.Contains("emulated at 128x128x64", text);
        Assert.Contains("tensor core (mma)", text);
        Assert.Contains("bank-conflict replays", text);
        Assert.Contains("NVIDIA Jetson AGX Orin 64GB", text);
        Assert.Contains("live 32-bit values at most by liveness analysis", text);
        Assert.Contains("real-GPU timings are still to be taken", text);
    }

    [Fact]
    public void Profile_of_an_unknown_kernel_fails_with_one_line()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["kernels", "profile", "nope"], stdout, stderr);
        Assert.NotEqual(ExitCodes.Ok, code);
        Assert.Contains("unknown kernel 'nope'", stderr.ToString() + stdout);
    }
}
