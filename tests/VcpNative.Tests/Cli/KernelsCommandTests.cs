// `vcp-native kernels verify` on the PTX emulator: a table row per case, the host-fallback list, exit code 0.
using VcpNative.Cli;
using VcpNative.Tensors.Cuda;
using Xunit;

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
}
