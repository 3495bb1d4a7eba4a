// eval's and compare's report.html end to end: the CLI on a synthetic dataset with the tiny fixture model, then the
// report in headless chromium (ReportBrowser): no console errors, nothing loaded from outside its folder, the table's
// numbers equal metrics.json, one curve per class (per head for compare), thumbnails loaded, a non-blank screenshot.
// With VCP_REPORT_SCREENSHOTS=<folder> the screenshots are also copied there (docs/images is made that way, see docs/reports.md).
using System.Globalization;
using System.Text.Json;
using OpenQA.Selenium;
using VcpNative.Cli;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Reports;

public class EvalReportTests(ITestOutputHelper output)
{
    private static readonly string[] Columns = ["auroc_px", "aupro_px", "ap_px", "f1_px", "iou", "auroc_sp", "ap_sp", "f1_sp", "threshold", "aupro30"];
    private static readonly string[] CurveFigures = ["roc-image", "roc-pixel", "pr-image", "pr-pixel", "pro"];

    private static string Synth(string dir, string classes)
    {
        var data = Path.Combine(dir, "data");
        Assert.Equal(0, CliApp.Run(["synth", "-o", data, "--seed", "7", "--image-size", "64", "--classes", classes], new StringWriter(), new StringWriter()));
        return data;
    }

    private static string Eval(string data, string outputFolder, params string[] extra)
    {
        var stderr = new StringWriter();
        var code = CliApp.Run(
        [
            "eval", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--dataset", "mvtec", "--data", data, "--image-size", "56", "--batch-size", "4", "-o", outputFolder, .. extra,
        ], new StringWriter(), stderr);
        Assert.True(code == 0, stderr.ToString());
        return outputFolder;
    }

    [Fact]
    public void EvalReportShowsTheMetricsJsonNumbersOneCurvePerClassAndLoadsCleanlyOffline()
    {
        using var temp = new TempDirectory("eval-report");
        var data = Synth(temp.Path, "stripes,washer,dots");
        var outFolder = Eval(data, Path.Combine(temp.Path, "eval"));
        var report = Path.Combine(outFolder, "report.html");
        Assert.True(File.Exists(report));
        Assert.Empty(Directory.GetFiles(outFolder, "*.tmp", SearchOption.AllDirectories));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outFolder, "metrics.json")));
        var classes = metrics.RootElement.GetProperty("classes").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(3, classes.Count);

        // The page refers only to files inside its folder (checked without a browser too).
        var html = File.ReadAllText(report);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);

        using var browser = ReportBrowser.TryOpen(report, temp.Path, output);
        if (browser is null)
        {
            return;
        }
        Assert.Empty(browser.ConsoleErrors());
        Assert.Empty(browser.UrlsOutsideReportFolder());

        // Table: the header is the metrics.json column names; every cell's number equals metrics.json's, to the last bit.
        Assert.Equal(["class", "images", .. Columns], browser.All("#metrics thead th").Select(th => ReportBrowser.Attr(th, "data-column")).ToArray());
        Assert.Equal([.. classes, "mean"], browser.All("#metrics tbody tr").Select(tr => ReportBrowser.Attr(tr, "data-row")).ToArray());
        var compared = 0;
        foreach (var row in browser.All("#metrics tbody tr"))
        {
            var key = ReportBrowser.Attr(row, "data-row");
            var json = key == "mean" ? metrics.RootElement.GetProperty("mean") : metrics.RootElement.GetProperty("classes").GetProperty(key);
            foreach (var column in Columns)
            {
                var cell = row.FindElement(By.CssSelector($"td[data-column='{column}']"));
                var expected = json.GetProperty(column);
                if (expected.ValueKind == JsonValueKind.Null)
                {
                    Assert.Equal("n/a", cell.Text);
                    continue;
                }
                var value = double.Parse(ReportBrowser.Attr(cell, "data-value"), CultureInfo.InvariantCulture);
                Assert.Equal(expected.GetDouble(), value);
                var shown = double.Parse(cell.Text, CultureInfo.InvariantCulture);
                // Shown rounded: percentages to 2 decimals, the threshold (a fraction) to 4.
                Assert.Equal(column == "threshold" ? value : value * 100, shown, column == "threshold" ? 0.00005 : 0.005);
                compared++;
            }
        }
        Assert.True(compared >= 3 * Columns.Length, $"only {compared} numbers compared");

        // One curve per class in every curve figure, labelled with the class; one score histogram per class.
        foreach (var figure in CurveFigures)
        {
            Assert.Equal(classes, browser.All($"#{figure} path.curve").Select(p => ReportBrowser.Attr(p, "data-class")).ToArray());
        }
        Assert.Single(browser.All("#pro g.marker"));
        Assert.Equal(classes.Count, browser.All("section.class-report").Count);
        for (var i = 0; i < classes.Count; i++)
        {
            Assert.Equal(2, browser.All($"#histogram-{i} path.histogram").Count);
        }

        // Worst images: the false positives and false negatives at each class's image F1-best threshold (the marker in
        // its histogram), at most 3 of each, worst first, 4 loaded thumbnails each; every such image of the class is there
        // or 3 worse ones are (checked against results.json's image scores, which rank as the metrics' scores do).
        var strips = browser.All("figure.worst");
        Assert.NotEmpty(strips); // the tiny fixture model gets some images of these classes wrong
        var results = ImageScoresByClass(Path.Combine(outFolder, "results.json"), data);
        foreach (var (className, index) in classes.Select((c, i) => (c, i)))
        {
            var thresholds = browser.All($"figure.worst[data-class='{className}']").Select(f => ReportBrowser.Attr(f, "data-threshold")).Distinct().ToList();
            Assert.True(thresholds.Count <= 1, $"{className}: strips disagree on the threshold");
            var section = browser.All($"#class-{index} p.note").Select(p => p.Text).ToList();
            foreach (var (kind, wrong) in new[] { ("false-positive", (Func<double, double, bool>)((s, t) => s >= t)), ("false-negative", (s, t) => s < t) })
            {
                var shown = browser.All($"figure.worst[data-class='{className}'][data-kind='{kind}']")
                    .Select(f => (Score: double.Parse(ReportBrowser.Attr(f, "data-score"), CultureInfo.InvariantCulture),
                        Threshold: double.Parse(ReportBrowser.Attr(f, "data-threshold"), CultureInfo.InvariantCulture))).ToList();
                Assert.InRange(shown.Count, 0, 3);
                Assert.All(shown, w => Assert.True(wrong(w.Score, w.Threshold), $"{className} {kind}: score {w.Score} vs threshold {w.Threshold}"));
                var order = kind == "false-positive" ? shown.Select(w => -w.Score).ToList() : shown.Select(w => w.Score).ToList();
                Assert.Equal(order.OrderBy(v => v).ToList(), order);
                if (shown.Count == 0)
                {
                    Assert.Contains(section, text => text.StartsWith($"No {kind.Replace('-', ' ')}", StringComparison.Ordinal));
                }
                if (thresholds.Count == 1)
                {
                    // All of the class's wrong images of this kind, up to 3: the metrics' scores are results.json's raw
                    // scores normalised per class (VCP), recomputed here.
                    var threshold = double.Parse(thresholds[0], CultureInfo.InvariantCulture);
                    var anomalous = kind == "false-negative";
                    var wrongCount = results[className].Count(r => r.Anomalous == anomalous && wrong(Normalised(r.Score, results[className]), threshold));
                    Assert.Equal(Math.Min(3, wrongCount), shown.Count);
                }
            }
        }
        foreach (var strip in strips)
        {
            var images = strip.FindElements(By.TagName("img"));
            Assert.Equal(4, images.Count);
            Assert.All(images, img => Assert.True(
                Convert.ToInt64(((IJavaScriptExecutor)browser.Driver).ExecuteScript("return arguments[0].naturalWidth;", img), CultureInfo.InvariantCulture) > 0,
                ReportBrowser.Attr(img, "src") + " did not load"));
        }

        // Settings: model fingerprint, image size, method, device, date, version.
        var settings = browser.All("#settings dd").ToDictionary(dd => ReportBrowser.Attr(dd, "data-key"), dd => dd.Text);
        Assert.Matches("^[0-9a-f]{16}$", settings["model fingerprint"]);
        Assert.Equal("56", settings["image size"]);
        Assert.Equal("vcp", settings["method"]);
        Assert.Equal("cpu", settings["device"]);
        Assert.StartsWith("vcp-native ", settings["version"], StringComparison.Ordinal);
        Assert.Matches("^[0-9]{4}-[0-9]{2}-[0-9]{2} ", settings["date (UTC)"]);

        var shot = Path.Combine(temp.Path, "report-eval.png");
        browser.SaveNonBlankScreenshot(shot);
        CopyScreenshotForDocs(shot);
    }

    // Per class, each scored image's raw score (results.json) and whether it is anomalous (not under test/good/).
    private static Dictionary<string, List<(double Score, bool Anomalous)>> ImageScoresByClass(string resultsJson, string data)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(resultsJson));
        var byClass = new Dictionary<string, List<(double, bool)>>();
        foreach (var r in doc.RootElement.EnumerateArray())
        {
            var relative = Path.GetRelativePath(data, r.GetProperty("input").GetString()!).Split(Path.DirectorySeparatorChar);
            var list = byClass.TryGetValue(relative[0], out var l) ? l : byClass[relative[0]] = [];
            list.Add((r.GetProperty("score").GetDouble(), relative[2] != "good"));
        }
        return byClass;
    }

    // The VCP method normalises a class's image scores to [0, 1] by their min and max (as the metrics see them), in float.
    private static double Normalised(double score, List<(double Score, bool Anomalous)> all)
    {
        var (low, high) = ((float)all.Min(r => r.Score), (float)all.Max(r => r.Score));
        return (float)(((float)score - low) / (high - low));
    }

    [Fact]
    public void NoReportWritesNeitherThePageNorItsThumbnails()
    {
        using var temp = new TempDirectory("eval-report");
        var data = Synth(temp.Path, "stripes");
        var outFolder = Eval(data, Path.Combine(temp.Path, "eval"), "--no-report");
        Assert.True(File.Exists(Path.Combine(outFolder, "metrics.json")));
        Assert.False(File.Exists(Path.Combine(outFolder, "report.html")));
        Assert.False(Directory.Exists(Path.Combine(outFolder, "report_files")));
    }

    [Fact]
    public void NoReportRemovesAnEarlierRunsReportFromTheFolder()
    {
        using var temp = new TempDirectory("eval-report");
        var data = Synth(temp.Path, "stripes,washer,dots");
        var outFolder = Eval(data, Path.Combine(temp.Path, "eval"));
        Assert.True(File.Exists(Path.Combine(outFolder, "report.html")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(outFolder, "report_files"), "*.png", SearchOption.AllDirectories));
        Eval(data, outFolder, "--no-report");
        Assert.True(File.Exists(Path.Combine(outFolder, "metrics.json")));
        Assert.False(File.Exists(Path.Combine(outFolder, "report.html")));
        Assert.False(Directory.Exists(Path.Combine(outFolder, "report_files")));
    }

    [Fact]
    public void CompareReportPutsTheHeadsSideBySideWithOneCurvePerHeadPerClass()
    {
        using var temp = new TempDirectory("compare-report");
        var data = Synth(temp.Path, "stripes,washer");
        var outFolder = Path.Combine(temp.Path, "cmp");
        var stderr = new StringWriter();
        var code = CliApp.Run(
        [
            "compare", "--clip", Fixtures.Path("clip", "tiny_clip.pt"),
            "--heads", Fixtures.Path("vcp", "vcp_head.pth"), Fixtures.Path("vip2", "vip2_head.pth"),
            "--dataset", "mvtec", "--data", data, "--image-size", "56", "--batch-size", "4", "-o", outFolder,
        ], new StringWriter(), stderr);
        Assert.True(code == 0, stderr.ToString());
        var report = Path.Combine(outFolder, "report.html");
        Assert.True(File.Exists(report));
        string[] heads = ["1-vcp", "2-vip2"];
        Assert.All(heads, h => Assert.True(File.Exists(Path.Combine(outFolder, h, "report.html")), $"{h} has no report of its own"));

        using var browser = ReportBrowser.TryOpen(report, temp.Path, output);
        if (browser is null)
        {
            return;
        }
        Assert.Empty(browser.ConsoleErrors());
        Assert.Empty(browser.UrlsOutsideReportFolder());
        var compared = 0;
        foreach (var head in heads)
        {
            using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outFolder, head, "metrics.json")));
            var rows = metrics.RootElement.GetProperty("classes").EnumerateObject().Select(c => ($"{c.Name}|{head}", c.Value)).ToList();
            rows.Add(($"mean|{head}", metrics.RootElement.GetProperty("mean")));
            foreach (var (key, json) in rows)
            {
                var row = Assert.Single(browser.All($"#compare tr[data-row='{key}']"));
                foreach (var column in Columns)
                {
                    var expected = json.GetProperty(column);
                    var cell = row.FindElement(By.CssSelector($"td[data-column='{column}']"));
                    if (expected.ValueKind == JsonValueKind.Null)
                    {
                        Assert.Equal("n/a", cell.Text);
                        continue;
                    }
                    Assert.Equal(expected.GetDouble(), double.Parse(ReportBrowser.Attr(cell, "data-value"), CultureInfo.InvariantCulture));
                    compared++;
                }
            }
        }
        Assert.True(compared >= 2 * 3 * (Columns.Length - 1), $"only {compared} numbers compared");

        var sections = browser.All("section.class-compare");
        Assert.Equal(["stripes", "washer"], sections.Select(s => ReportBrowser.Attr(s, "data-class")).ToArray());
        for (var i = 0; i < sections.Count; i++)
        {
            foreach (var figure in CurveFigures)
            {
                Assert.Equal(heads, browser.All($"#{figure}-{i} path.curve").Select(p => ReportBrowser.Attr(p, "data-class")).ToArray());
            }
        }
        var shot = Path.Combine(temp.Path, "report-compare.png");
        browser.SaveNonBlankScreenshot(shot);
        CopyScreenshotForDocs(shot);
    }

    private void CopyScreenshotForDocs(string shot)
    {
        if (Environment.GetEnvironmentVariable("VCP_REPORT_SCREENSHOTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.Copy(shot, Path.Combine(folder, Path.GetFileName(shot)), overwrite: true);
            output.WriteLine($"screenshot copied to {folder}");
        }
    }
}
