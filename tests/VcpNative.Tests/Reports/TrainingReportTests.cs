// train's training.html: written per epoch while training runs, final without refresh, --no-report; the page in a real browser.
using System.Text.Json;
using VcpNative.Anomaly.Reports;
using VcpNative.Cli;
using VcpNative.Tensors.Cpu;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Reports;

public class TrainingReportTests(ITestOutputHelper output)
{
    internal static string[] Args(string data, string output, params string[] extra) =>
    [
        "train", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--init", Fixtures.Path("vcp", "vcp_head.pth"),
        "--data", data, "--dataset", "mvtec", "--image-size", "28", "--batch-size", "4", "--epochs", "2",
        "--augment", "off", "--seed", "5", "-o", output, .. extra,
    ];

    internal static string Synth(string dir, string name, string classes, int seed)
    {
        var data = Path.Combine(dir, name);
        Assert.Equal(0, CliApp.Run(["synth", "-o", data, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--image-size", "32", "--classes", classes],
            new StringWriter(), new StringWriter()));
        return data;
    }

    /// <summary>Reads training.html when each epoch ends (before that epoch's own rewrite).</summary>
    private sealed class EpochPeek(string page) : IRunObserver
    {
        public List<string?> Seen { get; } = [];

        public void OnEpoch(EpochReport epoch) => Seen.Add(File.Exists(page) ? File.ReadAllText(page) : null);
    }

    [Fact]
    public void TheReportIsRewrittenAfterEachEpochWithARefreshThatTheFinalWriteLeavesOut()
    {
        using var temp = new TempDirectory("train-report");
        var data = Synth(temp.Path, "data", "dots,bolt", 3);
        var output = Path.Combine(temp.Path, "run");
        var page = Path.Combine(output, TrainingReport.FileName);
        var peek = new EpochPeek(page);
        var options = new TrainerOptions
        {
            Clip = Fixtures.Path("clip", "tiny_clip.pt"), Init = Fixtures.Path("vcp", "vcp_head.pth"), Data = data,
            Layout = VcpNative.Anomaly.Datasets.DatasetLayout.MvtecAd, ImageSize = 28, BatchSize = 4, Epochs = 3, Augment = false, Seed = 5, Output = output,
        };
        new Trainer(CpuBackend.Instance, peek).Run(options);
        var log = File.ReadAllLines(Path.Combine(output, "train_log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var stepsPerEpoch = log.Count(l => l.GetProperty("epoch").GetInt32() == 1);
        Assert.Equal(3, peek.Seen.Count);
        // At the end of epoch k the page on disk is the one written after epoch k-1 (the first: before step 1), still refreshing.
        for (var k = 1; k <= 3; k++)
        {
            var seen = peek.Seen[k - 1];
            Assert.NotNull(seen);
            Assert.Contains("http-equiv=\"refresh\"", seen);
            Assert.Contains($"<span id=\"steps-done\">{(k - 1) * stepsPerEpoch}</span>", seen);
        }
        var final = File.ReadAllText(page);
        Assert.DoesNotContain("http-equiv=\"refresh\"", final);
        Assert.Contains($"<span id=\"steps-done\">{log.Count}</span>", final);
        Assert.DoesNotContain("data-class=\"validation\"", final); // no --val-data, no validation curves
    }

    [Fact]
    public void NoReportWritesNoTrainingPage()
    {
        using var temp = new TempDirectory("train-report");
        var data = Synth(temp.Path, "data", "dots", 3);
        var output = Path.Combine(temp.Path, "run");
        var err = new StringWriter();
        Assert.True(CliApp.Run(Args(data, output, "--steps", "2", "--no-report"), new StringWriter(), err) == 0, err.ToString());
        Assert.True(File.Exists(Path.Combine(output, "train_log.jsonl")));
        Assert.False(File.Exists(Path.Combine(output, TrainingReport.FileName)));
    }

    [Fact]
    public void TheReportInABrowserDrawsOneCurvePerLossTermPlusTotalAndTheLoggedEpochsAndValidation()
    {
        using var temp = new TempDirectory("train-report");
        var data = Synth(temp.Path, "data", "dots,bolt", 3);
        var val = Synth(temp.Path, "val", "stripes", 11);
        var outputDir = Path.Combine(temp.Path, "run");
        var err = new StringWriter();
        var stdout = new StringWriter();
        Assert.True(CliApp.Run(Args(data, outputDir, "--val-data", val), stdout, err) == 0, err.ToString());
        Assert.Contains($"train: report in {Path.Combine(outputDir, TrainingReport.FileName)}", stdout.ToString());

        var log = File.ReadAllLines(Path.Combine(outputDir, "train_log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var steps = log.Where(l => l.TryGetProperty("loss", out _)).ToList();
        var terms = steps[0].EnumerateObject().Count(p => p.Name.StartsWith("loss_", StringComparison.Ordinal));
        Assert.True(terms >= 2, "the method logs its loss terms");
        var epochs = steps.GroupBy(l => l.GetProperty("epoch").GetInt32()).ToList();
        var validations = log.Where(l => l.TryGetProperty("val_ap_px", out _)).ToList();

        using var browser = ReportBrowser.TryOpen(Path.Combine(outputDir, TrainingReport.FileName), temp.Path, output);
        if (browser is null)
        {
            return;
        }
        Assert.Equal(terms + 1, browser.All("svg path.curve[data-class='loss']").Count);
        Assert.Single(browser.All("svg path.curve[data-class='lr']"));
        Assert.Equal(2, browser.All("svg path.curve[data-class='validation']").Count);
        Assert.Equal(steps[^1].GetProperty("step").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), browser.All("#steps-done").Single().Text);

        // One row per logged epoch: its last step, mean loss and validation numbers as the log has them.
        var rows = browser.All("#epochs tbody tr");
        Assert.Equal(epochs.Count, rows.Count);
        for (var e = 0; e < epochs.Count; e++)
        {
            string Value(string column) => rows[e].FindElement(OpenQA.Selenium.By.CssSelector($"td[data-column='{column}']")).GetAttribute("data-value")!;
            double Number(string column) => double.Parse(Value(column), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(epochs[e].Key, Number("epoch"));
            Assert.Equal(epochs[e].Last().GetProperty("step").GetInt64(), Number("steps"));
            Assert.Equal(epochs[e].Average(l => l.GetProperty("loss").GetDouble()), Number("mean loss"), 12);
            Assert.Equal(validations[e].GetProperty("val_ap_px").GetDouble(), Number("val pixel AP %"));
            Assert.Equal(validations[e].GetProperty("val_auroc_px").GetDouble(), Number("val pixel AUROC %"));
        }
        Assert.Empty(browser.All("meta[http-equiv='refresh']"));
        Assert.Empty(browser.ConsoleErrors());
        Assert.Empty(browser.UrlsOutsideReportFolder());
        browser.SaveNonBlankScreenshot(Path.Combine(temp.Path, "report-training.png"));
    }
}
