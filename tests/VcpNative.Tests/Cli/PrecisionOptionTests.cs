// `--precision bf16` switches the GPU backend's matmuls and attention to tensor cores; on the CPU it is refused.
using VcpNative.Cli;
using Xunit;

namespace VcpNative.Tests.Cli;

public class PrecisionOptionTests
{
    private static (float Score, float[] Map) Infer(string output, params string[] global) => CliRun.InferFixture(output, global);

    [Fact]
    public void Bf16_on_the_emulated_gpu_uses_tensor_cores_and_stays_close_to_fp32()
    {
        using var temp = new TempDirectory("precision");
        var cpu = Infer(Path.Combine(temp.Path, "cpu"));
        var fp32 = Infer(Path.Combine(temp.Path, "fp32"), "--device", "emulated");
        var bf16 = Infer(Path.Combine(temp.Path, "bf16"), "--device", "emulated", "--precision", "bf16");
        var fp32Diff = cpu.Map.Zip(fp32.Map, (a, b) => Math.Abs(a - b)).Max();
        var bf16Diff = cpu.Map.Zip(bf16.Map, (a, b) => Math.Abs(a - b)).Max();
        // fp32 GPU vs CPU: summation order only (the 1e-4 bound of the pipeline tests).
        Assert.InRange(fp32Diff, 0, 1e-4);
        // bf16 inputs (8 significant bits) through the tiny model: visibly different from fp32, and still close.
        Assert.True(bf16Diff > 10 * fp32Diff && bf16Diff > 1e-5, $"bf16 map differs from the CPU by {bf16Diff}, fp32 by {fp32Diff}: the switch did not take effect");
        Assert.InRange(bf16Diff, 0, 2e-2);
        Assert.InRange(Math.Abs(bf16.Score - cpu.Score), 0, 2e-2);
    }

    [Fact]
    public void Bf16_on_the_cpu_is_refused_in_one_line()
    {
        var err = new StringWriter();
        var code = CliApp.Run(["--precision", "bf16", "smoke"], new StringWriter(), err);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--precision bf16", err.ToString());
        Assert.Single(err.ToString().TrimEnd().Split('\n'));
    }
}
