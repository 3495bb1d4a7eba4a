// End-to-end tests of ViP2-CLIP through the CLI: convert vip2, method detection in infer, and compare of both methods.
using System.Text.Json;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Cli;
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.Cli;

public class CompareCommandTests
{
    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vcp-compare-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void CompareEvaluatesVcpAndVip2HeadsSideBySide()
    {
        var dir = TempDir();
        var data = Path.Combine(dir, "data");
        Assert.Equal(0, CliApp.Run(["synth", "-o", data, "--seed", "3", "--image-size", "64", "--classes", "stripes,washer"], new StringWriter(), new StringWriter()));
        var output = Path.Combine(dir, "cmp");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(
        [
            "compare", "--clip", Fixtures.Path("clip", "tiny_clip.pt"),
            "--heads", Fixtures.Path("vcp", "vcp_head.pth"), Fixtures.Path("vip2", "vip2_head.pth"),
            "--dataset", "mvtec", "--data", data, "--image-size", "56", "--batch-size", "4", "--per-class", "-o", output,
        ], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "compare.json")));
        var heads = json.RootElement.GetProperty("heads").EnumerateArray().ToList();
        Assert.Equal(new[] { "vcp", "vip2" }, heads.Select(h => h.GetProperty("method").GetString()!).ToArray());
        foreach (var h in heads)
        {
            var classes = h.GetProperty("classes");
            Assert.Equal(["stripes", "washer"], classes.EnumerateObject().Select(p => p.Name).ToArray());
            // Each head's means are the means of its own per-class eval (written by the same code as `eval`).
            using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, h.GetProperty("label").GetString()!, "metrics.json")));
            foreach (var m in new[] { "auroc_px", "aupro_px", "f1_px", "auroc_sp", "ap_sp", "f1_sp" })
            {
                var v = h.GetProperty("mean").GetProperty(m).GetDouble();
                Assert.InRange(v, 0.0, 1.0);
                Assert.Equal(metrics.RootElement.GetProperty("mean").GetProperty(m).GetDouble(), v, 12);
            }
        }
        // The two methods give different numbers on the same data (different models, different normalisation).
        Assert.NotEqual(heads[0].GetProperty("mean").GetProperty("auroc_px").GetDouble(), heads[1].GetProperty("mean").GetProperty("auroc_px").GetDouble());
        var md = File.ReadAllText(Path.Combine(output, "compare.md"));
        Assert.Contains("| 1-vcp (vcp_head.pth) | 2-vip2 (vip2_head.pth) |", md);
        Assert.Contains("### washer", md);
        Assert.Contains("| auroc_px |", stdout.ToString());

        // ViP2 scores are raw probabilities softmax(m / 0.07)[1] (no per-class min-max), so none is exactly 0 or 1.
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "2-vip2", "results.json")));
        Assert.All(ResultsJson.Records(results).EnumerateArray(), r => Assert.InRange(r.GetProperty("score").GetDouble(), 1e-6, 1 - 1e-6));
    }

    [Fact]
    public void ConvertVip2KeepsAuthorsKeysAndInferDetectsTheMethod()
    {
        var dir = TempDir();
        var converted = Path.Combine(dir, "vip2.safetensors");
        Assert.Equal(0, CliApp.Run(["convert", "vip2", Fixtures.Path("vip2", "vip2_head.pth"), "-o", converted], new StringWriter(), new StringWriter()));
        using (var original = WeightLoader.LoadVerbatim(Fixtures.Path("vip2", "vip2_head.pth")))
        using (var written = WeightLoader.LoadVerbatim(converted))
        {
            Assert.Equal("vip2", written.Metadata["method"]);
            Assert.Equal(original.Names.OrderBy(n => n, StringComparer.Ordinal), written.Names.OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(WeightDType.I32, written["prompt_learner.tokenized_prompts_neg"].DType);   // token ids stay integers
            Assert.Equal(original["prompt_learner.ctx_pos"].ToFloat32(), written["prompt_learner.ctx_pos"].ToFloat32());
        }
        Assert.Equal(AnomalyModelLoader.Vip2, AnomalyModelLoader.DetectMethod(converted));
        Assert.Equal(AnomalyModelLoader.Vip2, AnomalyModelLoader.DetectMethod(Fixtures.Path("vip2", "vip2_head.pth")));
        Assert.Equal(AnomalyModelLoader.Vcp, AnomalyModelLoader.DetectMethod(Fixtures.Path("vcp", "vcp_head.pth")));
        // A VCP head is not a ViP2 checkpoint: convert refuses it naming the missing key.
        var err = new StringWriter();
        Assert.NotEqual(0, CliApp.Run(["convert", "vip2", Fixtures.Path("vcp", "vcp_head.pth"), "-o", Path.Combine(dir, "bad.safetensors")], new StringWriter(), err));
        Assert.Contains("prompt_learner.ctx_pos", err.ToString());

        var images = Path.Combine(dir, "images");
        Directory.CreateDirectory(images);
        File.Copy(Fixtures.Path("vcp", "input.png"), Path.Combine(images, "a.png"));
        var outDir = Path.Combine(dir, "infer");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", converted, "--image-size", "56", "-o", outDir, images], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("infer (vip2)", stdout.ToString());
        // Forcing the other method on this head fails before any image is read, naming a VCP tensor.
        err = new StringWriter();
        Assert.NotEqual(0, CliApp.Run(["infer", "--method", "vcp", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", converted, "-o", Path.Combine(dir, "infer-vcp"), images], new StringWriter(), err));
        Assert.Contains("New_Lan_Embed", err.ToString());
        // A file that is neither method's heads: detection refuses it in one line naming the file.
        err = new StringWriter();
        Assert.NotEqual(0, CliApp.Run(["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("clip", "tiny_clip.pt"), "-o", Path.Combine(dir, "infer-neither"), images], new StringWriter(), err));
        var line = Assert.Single(err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("tiny_clip.pt", line);
        Assert.Contains("cannot tell the method", line);
    }
}
