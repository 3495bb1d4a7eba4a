// infer's report.html: its data chunks and thumbnails against results.json, --no-report, resume; the page in a real browser.
using System.Text.Json;
using VcpNative.Anomaly.Reports;
using VcpNative.Cli;
using VcpNative.IO.Images;
using VcpNative.IO.Results;
using OpenQA.Selenium;
using VcpNative.Tests.Cli;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Reports;

public class InferReportTests(ITestOutputHelper output)
{
    private static string[] Args(string output, params string[] more) => ArgsWithThreshold("1.02", output, more);

    private static string[] ArgsWithThreshold(string threshold, string output, params string[] more) =>
    [
        "infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
        "--image-size", "56", "--threshold", threshold, "--batch-size", "4", "--save-maps", "-o", output, .. more,
    ];

    /// <summary>
    /// infer's test images (<see cref="InferBatchJobTests.Images"/>) with the first one 400x300, larger than a thumbnail,
    /// and a truncated PNG whose name needs URL escaping; returns the folder.
    /// </summary>
    internal static string Images(string dir, int count)
    {
        var inputs = InferBatchJobTests.Images(dir, count);
        var large = new RgbImage(400, 300);
        new Random(0).NextBytes(large.Pixels);
        PngEncoder.Write(Path.Combine(inputs, "img000.png"), large);
        File.WriteAllBytes(Path.Combine(inputs, "bad #1.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 1, 2, 3]);
        return inputs;
    }

    /// <summary>The successful records of results.json, highest score first (ties in input order), as the gallery must show them.</summary>
    internal static List<(double Score, string Input, string? Overlay)> SortedResults(string output)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        return doc.RootElement.GetProperty("results").EnumerateArray()
            .Where(r => r.GetProperty("score").ValueKind == JsonValueKind.Number)
            .Select((r, i) => (Score: r.GetProperty("score").GetDouble(), Input: r.GetProperty("input").GetString()!, Overlay: r.GetProperty("overlay").GetString(), Index: i))
            .OrderByDescending(r => r.Score).ThenBy(r => r.Index).Select(r => (r.Score, r.Input, r.Overlay)).ToList();
    }

    /// <summary>The verdict results.json gives each input ("anomalous", "normal", or "" without a threshold).</summary>
    private static Dictionary<string, string> Verdicts(string output)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        return doc.RootElement.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("score").ValueKind == JsonValueKind.Number)
            .ToDictionary(r => r.GetProperty("input").GetString()!,
                r => r.TryGetProperty("anomalous", out var a) ? (a.GetBoolean() ? "anomalous" : "normal") : "");
    }

    /// <summary>Every record of report_files/results-NNN.js, in chunk order.</summary>
    private static List<JsonElement> ChunkRecords(string output)
    {
        var records = new List<JsonElement>();
        var files = Directory.GetFiles(Path.Combine(output, InferReport.FolderName), "results-*.js").Order(StringComparer.Ordinal).ToList();
        for (var c = 0; c < files.Count; c++)
        {
            var text = File.ReadAllText(files[c]);
            var prefix = $"vcpReport.chunk({c}, ";
            Assert.StartsWith(prefix, text);
            Assert.EndsWith(");\n", text);
            records.AddRange(JsonDocument.Parse(text[prefix.Length..^3]).RootElement.EnumerateArray());
        }
        return records;
    }

    [Fact]
    public void InferWritesTheReportWithChunksHoldingResultsJsonSortedByScoreAndThumbnailsOfAtMost192Pixels()
    {
        using var temp = new TempDirectory("infer-report");
        var output = Path.Combine(temp.Path, "out");
        var run = CliRun.Run(Args(output, Images(temp.Path, 7)));
        Assert.True(run.Code == ExitCodes.PartialFailure, run.Err);
        Assert.Contains($"report in {Path.Combine(output, "report.html")}", run.Out);

        var expected = SortedResults(output);
        Assert.Equal(7, expected.Count);
        var records = ChunkRecords(output);
        Assert.Equal(expected.Select(e => e.Score), records.Select(r => r.GetProperty("score").GetDouble()));
        Assert.Equal(expected.Select(e => e.Input), records.Select(r => r.GetProperty("input").GetString()));
        foreach (var (record, (_, _, overlay)) in records.Zip(expected))
        {
            Assert.Equal(overlay, record.GetProperty("overlay").GetString());
            var thumb = Path.Combine(output, record.GetProperty("thumb").GetString()!);
            var thumbnail = ImageDecoder.DecodeRgb(thumb);
            var full = ImageDecoder.DecodeRgb(Path.Combine(output, overlay!));
            Assert.InRange(Math.Max(thumbnail.Width, thumbnail.Height), 1, InferReport.ThumbnailSize);
            if (Math.Max(full.Width, full.Height) > InferReport.ThumbnailSize)
            {
                // The 400x300 overlay is scaled down, to more than half the limit, keeping its shape (to a pixel).
                Assert.InRange(thumbnail.Width, InferReport.ThumbnailSize / 2 + 1, InferReport.ThumbnailSize);
                Assert.InRange(thumbnail.Height * 4.0, thumbnail.Width * 3.0 - 4, thumbnail.Width * 3.0 + 4);
            }
        }
        var html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Contains("bad #1.png", html);
        Assert.DoesNotContain("<img", html); // the page embeds no image: the gallery's come from the chunks, page by page
        Assert.Empty(Directory.EnumerateFiles(output, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void NoReportWritesNeitherThePageNorItsFilesAndAResumeWithReportsMakesTheMissingThumbnails()
    {
        using var temp = new TempDirectory("infer-report");
        var inputs = Images(temp.Path, 4);
        var output = Path.Combine(temp.Path, "out");
        var bare = CliRun.Run(Args(output, inputs, "--no-report"));
        Assert.True(bare.Code == ExitCodes.PartialFailure, bare.Err);
        Assert.DoesNotContain("report in", bare.Out);
        Assert.False(File.Exists(Path.Combine(output, "report.html")));
        Assert.False(Directory.Exists(Path.Combine(output, InferReport.FolderName)));

        // The resumed run finished nothing new, yet its report has every thumbnail: made from the overlay files.
        var resumed = CliRun.Run(Args(output, inputs, "--resume"));
        Assert.True(resumed.Code == ExitCodes.PartialFailure, resumed.Err);
        Assert.Contains("5 input(s) finished by the earlier run were skipped", resumed.Out);
        var records = ChunkRecords(output);
        Assert.Equal(4, records.Count);
        Assert.All(records, r => Assert.True(File.Exists(Path.Combine(output, r.GetProperty("thumb").GetString()!))));

        // --overwrite clears the report with the rest.
        var again = CliRun.Run(Args(output, inputs, "--overwrite", "--no-report"));
        Assert.True(again.Code == ExitCodes.PartialFailure, again.Err);
        Assert.False(File.Exists(Path.Combine(output, "report.html")));
        Assert.False(Directory.Exists(Path.Combine(output, InferReport.FolderName)));
    }

    /// <summary>Waits (at most 30 s) until <paramref name="condition"/> holds: the gallery renders after its chunks load.</summary>
    private static void WaitUntil(Func<bool> condition, string what)
    {
        for (var waited = 0; !condition(); waited += 50)
        {
            Assert.True(waited < 30_000, $"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }

    /// <summary>The cards the gallery shows: score attribute, score text, verdict, input, and whether its thumbnail (if any) loaded.</summary>
    private static List<(double Score, string Text, string Verdict, string Input, bool ThumbLoaded)> Cards(ReportBrowser browser)
    {
        var js = (IJavaScriptExecutor)browser.Driver;
        var rows = (System.Collections.ObjectModel.ReadOnlyCollection<object>)js.ExecuteScript("""
            return [...document.querySelectorAll('#gallery .card')].map(c => [
              c.querySelector('.score').dataset.score, c.querySelector('.score').textContent, c.querySelector('.verdict').textContent,
              c.querySelector('.input').textContent, c.querySelector('img') === null || (c.querySelector('img').complete && c.querySelector('img').naturalWidth > 0)]);
            """)!;
        return [.. rows.Cast<System.Collections.ObjectModel.ReadOnlyCollection<object>>().Select(r =>
            (double.Parse((string)r[0], System.Globalization.CultureInfo.InvariantCulture), (string)r[1], (string)r[2], (string)r[3], (bool)r[4]))];
    }

    /// <summary>The gallery shows <paramref name="expected"/>[from..from+count) with their verdicts, scores as results.json has them.</summary>
    private static void AssertPage(ReportBrowser browser, List<(double Score, string Input, string? Overlay)> expected, Dictionary<string, string> verdicts, int from, int count)
    {
        WaitUntil(() => browser.All("#gallery .card").Count == count && Cards(browser)[0].Input == expected[from].Input, $"cards {from + 1}..{from + count}");
        WaitUntil(() => Cards(browser).All(c => c.ThumbLoaded), "the thumbnails");
        var cards = Cards(browser);
        Assert.Equal(expected.Skip(from).Take(count).Select(e => e.Score), cards.Select(c => c.Score));
        Assert.Equal(expected.Skip(from).Take(count).Select(e => e.Input), cards.Select(c => c.Input));
        Assert.Equal(cards.Select(c => c.Score.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)), cards.Select(c => c.Text));
        Assert.Equal(cards.Select(c => verdicts[c.Input]), cards.Select(c => c.Verdict));
    }

    [Fact]
    public void TheReportInABrowserShowsResultsJsonSortedByScorePageByPageWithTheHistogramAndTheFailedInput()
    {
        using var temp = new TempDirectory("infer-report");
        var outputDir = Path.Combine(temp.Path, "out");
        var inputs = Images(temp.Path, 27);
        var first = CliRun.Run(Args(outputDir, inputs, "--no-report"));
        Assert.True(first.Code == ExitCodes.PartialFailure, first.Err);
        // Again with the median score as the threshold, so the page shows both verdicts.
        var median = SortedResults(outputDir)[13].Score.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var run = CliRun.Run(ArgsWithThreshold(median, outputDir, inputs, "--overwrite"));
        Assert.True(run.Code == ExitCodes.PartialFailure, run.Err);
        var expected = SortedResults(outputDir);
        var verdicts = Verdicts(outputDir);
        Assert.Contains("anomalous", verdicts.Values); // the threshold splits the images, so both verdicts are checked
        Assert.Contains("normal", verdicts.Values);
        using var browser = ReportBrowser.TryOpen(Path.Combine(outputDir, InferReport.FileName), temp.Path, output);
        if (browser is null)
        {
            return;
        }
        // 27 images at 20 per page: page 1 holds the 20 highest scores, "next" shows the last 7.
        browser.All("#per-page option").Single(o => o.Text == "20").Click();
        AssertPage(browser, expected, verdicts, 0, 20);
        Assert.Equal(20, browser.All("#gallery .card img[loading='lazy']").Count); // every card has its thumbnail
        Assert.Contains("page 1 of 2", browser.All("#page-label").Single().Text);
        browser.All("#next").Single().Click();
        AssertPage(browser, expected, verdicts, 20, 7);
        Assert.Contains("#page=2&per=20", browser.Driver.Url);

        // The failed input with its message, as results.json has it.
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outputDir, "results.json"))))
        {
            var failed = doc.RootElement.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("score").ValueKind == JsonValueKind.Null);
            var row = browser.All("#failures tbody tr").Single();
            Assert.Equal(failed.GetProperty("input").GetString(), row.FindElement(By.CssSelector("td[data-column='input']")).Text);
            Assert.Equal(failed.GetProperty("error").GetString(), row.FindElement(By.CssSelector("td[data-column='error']")).Text);
        }
        Assert.Equal("27", browser.All("#count-scored").Single().Text);
        Assert.Equal(verdicts.Values.Count(v => v == "anomalous").ToString(System.Globalization.CultureInfo.InvariantCulture), browser.All("#count-flagged").Single().Text);
        Assert.Single(browser.All("svg path.histogram"));
        Assert.Equal(median, browser.All("svg g.marker").Single().GetAttribute("data-x"));

        Assert.Empty(browser.ConsoleErrors());
        Assert.Empty(browser.UrlsOutsideReportFolder());
        browser.SaveNonBlankScreenshot(Path.Combine(temp.Path, "report-infer.png"));

        // Chunks of 4 records: a page of 20 spans six of them, page 2 starts inside one; the same cards either way.
        InferReport.Write(outputDir, new InferReportSettings(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth"), "cpu"), chunkSize: 4);
        Assert.Equal(7, Directory.GetFiles(Path.Combine(outputDir, InferReport.FolderName), "results-*.js").Length);
        browser.Driver.Navigate().Refresh();
        AssertPage(browser, expected, verdicts, 20, 7); // the hash kept page 2 at 20 per page
        browser.All("#first").Single().Click();
        AssertPage(browser, expected, verdicts, 0, 20);
        Assert.Empty(browser.ConsoleErrors());
        Assert.Empty(browser.UrlsOutsideReportFolder());
    }

    [Fact]
    public void AHundredThousandResultsLeaveThePageSmallAndTheGalleryLoadsOnlyThePageShown()
    {
        using var temp = new TempDirectory("infer-report");
        var outputDir = Path.Combine(temp.Path, "out");
        // results.json as a batch job writes it: 100k inputs, three of them failed; no image files (cards without thumbnails).
        var rng = new Random(5);
        var entries = Enumerable.Range(0, 100_000).Select(i => i % 40_000 == 7
            ? new JournalEntry($"in/{i}.png", 1, default, null, $"broken {i}")
            : new JournalEntry($"in/{i}.png", 1, default, new ImageResultRecord($"in/{i}.png", rng.NextDouble() * 2, null, null, $"overlays/{i}.png", null), null)).ToList();
        ResultsWriter.Write(outputDir, entries, new ResultsHeader("vcp", 518, null, "a score", 2));
        var page = InferReport.Write(outputDir, new InferReportSettings(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth"), "cpu"));
        var size = new FileInfo(page).Length;
        output.WriteLine($"report.html: {size} bytes for 100000 results");
        Assert.InRange(size, 1, 64 * 1024); // settings, histogram and three failures: nothing per result
        Assert.Equal(100, Directory.GetFiles(Path.Combine(outputDir, InferReport.FolderName), "results-*.js").Length);

        using var browser = ReportBrowser.TryOpen(page, temp.Path, output);
        if (browser is null)
        {
            return;
        }
        var expected = SortedResults(outputDir);
        var verdicts = expected.ToDictionary(e => e.Input, _ => "");
        AssertPage(browser, expected, verdicts, 0, 100);
        browser.All("#last").Single().Click();
        AssertPage(browser, expected, verdicts, 99_900, 97);
        Assert.Contains("page 1000 of 1000", browser.All("#page-label").Single().Text);
        // Only the first and the last chunk were loaded.
        var loaded = browser.ResourceUrls().Where(u => u.Contains("/results-", StringComparison.Ordinal)).Distinct().Select(Path.GetFileName).Order();
        Assert.Equal(["results-000.js", "results-099.js"], loaded);
        Assert.Equal(3, browser.All("#failures tbody tr").Count);
        Assert.Empty(browser.ConsoleErrors());
        Assert.Empty(browser.UrlsOutsideReportFolder());
    }
}
