// End-to-end test of `vcp-native bench` on the tiny random architecture: the JSON fields, not the timings.
using System.Text.Json;
using VcpNative.Anomaly.Inference;
using VcpNative.Cli;
using VcpNative.Models;
using Xunit;

namespace VcpNative.Tests.Cli;

public class BenchCommandTests
{
    [Fact]
    public void BenchTinyPrintsOneJsonObjectWithEveryStage()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["bench", "--random-weights", "--arch", "tiny", "--iterations", "1", "--warmup", "0", "--json"], stdout, stderr);

        Assert.True(code == ExitCodes.Ok, stderr.ToString());
        using var json = JsonDocument.Parse(stdout.ToString());
        var root = json.RootElement;
        Assert.Equal("vcp", root.GetProperty("method").GetString());
        Assert.Equal("tiny", root.GetProperty("arch").GetString());
        Assert.Equal(518, root.GetProperty("image_size").GetInt32());
        Assert.Equal(1, root.GetProperty("batch_size").GetInt32());
        var stages = root.GetProperty("stages_s_per_batch");
        double sum = 0;
        foreach (var name in new[] { "decode_preprocess", "image_tower", "text_heads", "postprocess" })
        {
            var v = stages.GetProperty(name).GetDouble();
            Assert.True(v > 0 && double.IsFinite(v), $"{name} = {v}");
            sum += v;
        }
        // total is the sum of the stages (same rounding: both come from the same doubles)
        Assert.Equal(sum, stages.GetProperty("total").GetDouble(), 9);
        Assert.True(root.GetProperty("images_per_s").GetDouble() > 0);
        Assert.True(root.GetProperty("achieved_gflops").GetDouble() > 0);
        Assert.True(root.GetProperty("peak_rss_mb").GetDouble() > 10);
        Assert.StartsWith($"MR={VcpNative.Tensors.Cpu.SgemmKernel.Default.Mr} ", root.GetProperty("gemm_blocking").GetString());
        // The analytic count must match the formula for the tiny config (checked independently below).
        var flops = VcpFlopCount.PerImage(ModelArchitecture.Tiny.Clip, 2, 1, 4, 518);
        Assert.Equal(flops.Total / 1e9, root.GetProperty("gflop_per_image").GetDouble(), 6);
    }

    [Fact]
    public void InFlightRunsTwoPipelinesOnOneModelAndTheyAgree()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["bench", "--random-weights", "--arch", "tiny", "--image-size", "56", "--iterations", "2", "--warmup", "1",
            "--threads", "2", "--in-flight", "2", "--batch-size", "2", "--json"], stdout, stderr);

        Assert.True(code == ExitCodes.Ok, stderr.ToString() + stdout);
        using var json = JsonDocument.Parse(stdout.ToString());
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("in_flight").GetInt32());
        Assert.Equal(1, root.GetProperty("threads_each").GetInt32());
        Assert.Equal(2, root.GetProperty("batch_size").GetInt32());
        Assert.True(root.GetProperty("identical").GetBoolean());
        Assert.True(root.GetProperty("images_per_s").GetDouble() > 0);
    }

    [Theory]
    [InlineData("3", "--in-flight must be between 1 and --threads (2), found 3")]
    [InlineData("0", "--in-flight must be between 1 and --threads (2), found 0")]
    public void InFlightOutsideTheThreadCountIsAUsageError(string inFlight, string message)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["bench", "--random-weights", "--arch", "tiny", "--threads", "2", "--in-flight", inFlight], stdout, stderr);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(message, stderr.ToString());
    }

    [Fact]
    public void FlopCountOfVitL14At518IsAboutOneTeraflop()
    {
        var f = VcpFlopCount.PerImage(ModelArchitecture.VitL14_336.Clip, 2, 1, 4, 518);
        // Independent hand count of the image tower: 24 blocks of 24 L W^2 + 4 L^2 W with L = 1370, W = 1024, plus the
        // patch conv 2 * 1369 * 588 * 1024 and ln_post(cls) @ proj 2 * 1024 * 768.
        const double l = 1370, w = 1024;
        var vision = 24 * (24 * l * w * w + 4 * l * l * w) + 2 * 1369 * 588 * w + 2 * w * 768;
        Assert.Equal(vision, f.Vision, 0);
        Assert.InRange(f.Vision / 1e12, 1.00, 1.02);
        Assert.InRange(f.TextAndHeads / 1e9, 40, 80);
    }

    [Fact]
    public void RandomTinyModelGivesFiniteMapsAndUnknownArchIsRefused()
    {
        using var model = VcpModel.Random(ModelArchitecture.Tiny, 3);
        using var scope = new VcpNative.Tensors.TensorScope();
        var input = VcpNative.Tests.Tensors.TestTensors.Uniform([1, 3, 56, 56], 9);
        var result = new VcpInference(model, 56).Run(input)[0];
        Assert.All(result.Map, v => Assert.True(float.IsFinite(v)));
        Assert.True(float.IsFinite(result.Score));
        var e = Assert.Throws<ArgumentException>(() => ModelArchitecture.ByName("vit-h"));
        Assert.Contains("vit-l-14-336", e.Message);
    }

    [Fact]
    public void BenchTimesVip2OnRandomWeights()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["bench", "--method", "vip2", "--random-weights", "--arch", "tiny", "--image-size", "56", "--iterations", "1", "--warmup", "0", "--json"], stdout, stderr);
        Assert.True(code == ExitCodes.Ok, stderr.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(stdout.ToString());
        Assert.Equal("vip2", json.RootElement.GetProperty("method").GetString());
        Assert.True(json.RootElement.GetProperty("gflop_per_image").GetDouble() > 0);
    }
}
