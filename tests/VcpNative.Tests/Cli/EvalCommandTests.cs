// End-to-end tests of `synth`, `eval` and `calibrate` on a generated dataset with the tiny fixture model.
using System.Text.Json;
using VcpNative.Cli;
using Xunit;

namespace VcpNative.Tests.Cli;

public class EvalCommandTests
{
    [Fact]
    public void SynthThenEvalWritesMetricsForEveryClassAndResultsForEveryImage()
    {
        using var temp = new TempDirectory("eval");
        var dir = temp.Path;
        var data = Path.Combine(dir, "data");
        Assert.Equal(0, CliApp.Run(["synth", "-o", data, "--seed", "7", "--image-size", "64", "--classes", "stripes,washer"], new StringWriter(), new StringWriter()));
        var output = Path.Combine(dir, "eval");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(
        [
            "eval", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--dataset", "mvtec", "--data", data, "--image-size", "56", "--batch-size", "4", "--save-maps", "-o", output,
        ], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var classes = metrics.RootElement.GetProperty("classes");
        Assert.Equal(["stripes", "washer"], classes.EnumerateObject().Select(p => p.Name).ToArray());
        foreach (var c in classes.EnumerateObject())
        {
            foreach (var key in new[] { "auroc_px", "aupro_px", "ap_px", "f1_px", "iou", "auroc_sp", "ap_sp", "f1_sp", "threshold", "aupro30" })
            {
                var v = c.Value.GetProperty(key).GetDouble();
                Assert.InRange(v, 0.0, 1.0);
            }
        }
        var mean = metrics.RootElement.GetProperty("mean");
        var meanAuroc = (classes.GetProperty("stripes").GetProperty("auroc_px").GetDouble() + classes.GetProperty("washer").GetProperty("auroc_px").GetDouble()) / 2;
        Assert.Equal(meanAuroc, mean.GetProperty("auroc_px").GetDouble(), 12);

        var csv = File.ReadAllLines(Path.Combine(output, "metrics.csv"));
        Assert.Equal("class,images,auroc_px,aupro_px,ap_px,f1_px,iou,auroc_sp,ap_sp,f1_sp,threshold,aupro30", csv[0]);
        Assert.StartsWith("mean,", csv[^1]);
        Assert.Contains("| **mean** |", File.ReadAllText(Path.Combine(output, "metrics.md")));

        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        var records = ResultsJson.Records(results).EnumerateArray().ToList();
        var testImages = Directory.GetFiles(data, "*.png", SearchOption.AllDirectories).Count(f => f.Contains($"{Path.DirectorySeparatorChar}test{Path.DirectorySeparatorChar}"));
        Assert.Equal(testImages, records.Count);
        Assert.All(records, r => Assert.True(File.Exists(Path.Combine(output, r.GetProperty("map").GetString()!))));
    }

    [Fact]
    public void AClassWithoutAnomaliesGetsAClearMessageNotNaN()
    {
        using var temp = new TempDirectory("eval");
        var dir = temp.Path;
        var root = Path.Combine(dir, "plain");
        var good = Path.Combine(root, "widget", "good");
        Directory.CreateDirectory(good);
        for (var i = 0; i < 3; i++)
        {
            var img = new VcpNative.IO.Images.RgbImage(40, 40);
            new System.Random(i).NextBytes(img.Pixels);
            VcpNative.IO.Images.PngEncoder.Write(Path.Combine(good, $"{i}.png"), img);
        }
        var output = Path.Combine(dir, "eval");
        var stdout = new StringWriter();
        var code = CliApp.Run(
        [
            "eval", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--dataset", "folder", "--data", root, "--image-size", "28", "-o", output,
        ], stdout, new StringWriter());
        Assert.Equal(0, code);
        var md = File.ReadAllText(Path.Combine(output, "metrics.md"));
        Assert.DoesNotContain("NaN", md);
        Assert.Contains("n/a", md);
        Assert.Contains("widget auroc_px:", md);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var widget = metrics.RootElement.GetProperty("classes").GetProperty("widget");
        Assert.Equal(JsonValueKind.Null, widget.GetProperty("auroc_px").ValueKind);
        Assert.True(widget.GetProperty("undefined").GetProperty("auroc_px").GetString()!.Length > 0);
    }

    [Fact]
    public void CalibrateWritesAThresholdThatInferAccepts()
    {
        using var temp = new TempDirectory("eval");
        var dir = temp.Path;
        var normal = Path.Combine(dir, "normal");
        Directory.CreateDirectory(normal);
        for (var i = 0; i < 4; i++)
        {
            var img = new VcpNative.IO.Images.RgbImage(30, 30);
            new System.Random(10 + i).NextBytes(img.Pixels);
            VcpNative.IO.Images.PngEncoder.Write(Path.Combine(normal, $"n{i}.png"), img);
        }
        var cal = Path.Combine(dir, "cal");
        var stdout = new StringWriter();
        Assert.Equal(0, CliApp.Run(["calibrate", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--image-size", "28", "--percentile", "100", "--margin", "0", "-o", cal, normal], stdout, new StringWriter()));
        var thresholdFile = Path.Combine(cal, "threshold.json");
        var threshold = VcpNative.IO.Results.ThresholdFile.Load(thresholdFile);
        Assert.Equal(4, threshold.Images);
        Assert.Equal(threshold.ScoreMax, threshold.Threshold, 12);

        var inferOut = Path.Combine(dir, "infer");
        Assert.Equal(0, CliApp.Run(["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--image-size", "28", "--threshold", thresholdFile, "-o", inferOut, normal], new StringWriter(), new StringWriter()));
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(inferOut, "results.json")));
        // At the 100th percentile with no margin, no normal image lies strictly above the threshold.
        Assert.All(ResultsJson.Records(results).EnumerateArray(), r => Assert.False(r.GetProperty("anomalous").GetBoolean()));
    }
}
