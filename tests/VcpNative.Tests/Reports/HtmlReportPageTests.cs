// The shared report building blocks: SvgPlot's elements and numbers, HtmlReportPage's escaping, table, thumbnails and
// atomic write, and ReportBrowser's checks (which must catch a page that reaches outside its folder).
using System.Globalization;
using System.Text.RegularExpressions;
using VcpNative.Anomaly.Reports;
using VcpNative.IO.Images;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Reports;

public class HtmlReportPageTests(ITestOutputHelper output)
{
    [Fact]
    public void EachSeriesIsOneElementWithItsClassAndNumbersAreInvariantUnderAGermanCulture()
    {
        var previous = CultureInfo.CurrentCulture;
        // Built by hand: the tests may run with invariant globalization, where "de-DE" does not exist.
        var german = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        german.NumberFormat.NumberDecimalSeparator = ",";
        german.NumberFormat.NumberGroupSeparator = ".";
        CultureInfo.CurrentCulture = german;
        try
        {
            var colours = SvgPlot.Viridis(3);
            var plot = new SvgPlot("ROC <pixel>", "FPR", "TPR").Limits(0, 1, 0, 1);
            string[] names = ["bottle", "cable", "screw"];
            for (var i = 0; i < 3; i++)
            {
                plot.Line(names[i], [0, 0.25 + (0.1 * i), 1], [0, 0.5, 1], colours[i], "curve", names[i]);
            }
            plot.Histogram("good", [0, 0.5, 1], [3, 1], colours[0], "histogram", "bottle");
            plot.VerticalMarker(0.3, "FPR 0.3");
            var svg = plot.ToSvg();

            Assert.Equal(3, Regex.Count(svg, "<path class=\"curve\""));
            Assert.Equal(names, Regex.Matches(svg, "class=\"curve\" data-class=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray());
            Assert.Equal(1, Regex.Count(svg, "<path class=\"histogram\""));
            Assert.Contains("data-x=\"0.3\"", svg, StringComparison.Ordinal);
            Assert.Contains("ROC &lt;pixel&gt;", svg, StringComparison.Ordinal);
            // No decimal comma anywhere in coordinates or tick labels.
            Assert.DoesNotMatch(new Regex("[0-9],[0-9]"), svg);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void ViridisRunsFromPurpleToYellowAndSpreadsSeries()
    {
        Assert.Equal("#440154", SvgPlot.ViridisAt(0));
        Assert.Equal("#21918c", SvgPlot.ViridisAt(0.5));
        Assert.Equal("#fde725", SvgPlot.ViridisAt(1));
        var five = SvgPlot.Viridis(5);
        Assert.Equal(5, five.Distinct().Count());
        Assert.Equal("#440154", five[0]);
    }

    [Fact]
    public void TableCarriesExactValuesAndEscapesText()
    {
        var page = new HtmlReportPage("a <b> & \"c\"");
        page.Table("t", ["class", "auroc_px"],
        [
            new TableRow("x<y", [new TableCell("x<y"), new TableCell("91.23", 0.912345678901)]),
            new TableRow("mean", [new TableCell("mean"), new TableCell("n/a", null, "no class defines it")], "mean"),
        ]);
        var html = page.ToHtml();
        Assert.Contains("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>", html, StringComparison.Ordinal);
        Assert.Contains("data-row=\"x&lt;y\"", html, StringComparison.Ordinal);
        Assert.Contains("data-value=\"0.912345678901\"", html, StringComparison.Ordinal);
        Assert.Contains("class=\"undefined\" title=\"no class defines it\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => page.Table("u", ["a", "b"], [new TableRow("r", [new TableCell("1")])]));
    }

    [Fact]
    public void ThumbnailsAreAreaAveragedToAtMost256PixelsAndWrittenBesideTheReport()
    {
        var image = new RgbImage(512, 300);
        for (var y = 0; y < 300; y++)
        {
            for (var x = 0; x < 512; x++)
            {
                // Alternating black/white columns average to mid grey when halved.
                var v = (byte)(x % 2 == 0 ? 0 : 254);
                image.Pixels[((y * 512) + x) * 3] = v;
                image.Pixels[(((y * 512) + x) * 3) + 1] = v;
                image.Pixels[(((y * 512) + x) * 3) + 2] = v;
            }
        }
        var small = HtmlReportPage.Downscale(image, 256);
        Assert.Equal((256, 150), (small.Width, small.Height));
        Assert.All(small.Pixels, p => Assert.Equal(127, p));
        Assert.Same(image, HtmlReportPage.Downscale(image, 1024));

        using var temp = new TempDirectory("report-page");
        var url = HtmlReportPage.Thumbnail(temp.Path, "bottle/fp 1.png", image);
        Assert.Equal("report_files/bottle/fp%201.png", url);
        var written = ImageDecoder.Decode(Path.Combine(temp.Path, "report_files", "bottle", "fp 1.png"));
        Assert.Equal((256, 150), (written.Width, written.Height));
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void APageWithPlotTableAndThumbnailLoadsCleanlyAndAPageReachingOutIsCaught()
    {
        using var temp = new TempDirectory("report-page");
        var folder = Path.Combine(temp.Path, "report");
        var page = new HtmlReportPage("Shared report parts");
        page.Table("metrics", ["class", "auroc_px"], [new TableRow("bottle", [new TableCell("bottle"), new TableCell("90.00", 0.9)])]);
        var plot = new SvgPlot("ROC", "FPR", "TPR").Limits(0, 1, 0, 1);
        var colours = SvgPlot.Viridis(2);
        plot.Line("bottle", [0, 0.2, 1], [0, 0.8, 1], colours[0], "curve", "bottle");
        plot.Line("cable", [0, 0.4, 1], [0, 0.6, 1], colours[1], "curve", "cable");
        page.BeginFigures().Figure(plot, "two curves").EndFigures();
        var thumb = new RgbImage(40, 30);
        new Random(3).NextBytes(thumb.Pixels);
        page.ImageStrip([(HtmlReportPage.Thumbnail(folder, "t.png", thumb), "image")], "worst", [new("class", "bottle")]);
        var report = Path.Combine(folder, "report.html");
        page.WriteAtomically(report);

        using (var browser = ReportBrowser.TryOpen(report, temp.Path, output))
        {
            if (browser is null)
            {
                return;
            }
            Assert.Empty(browser.ConsoleErrors());
            Assert.Empty(browser.UrlsOutsideReportFolder());
            Assert.Contains(browser.ResourceUrls(), u => u.EndsWith("report_files/t.png", StringComparison.Ordinal));
            Assert.Equal(2, browser.All("svg path.curve").Count);
            Assert.Equal("0.9", browser.All("#metrics td[data-column=auroc_px]")[0].GetAttribute("data-value"));
            browser.SaveNonBlankScreenshot(Path.Combine(temp.Path, "shot.png"));
        }

        // The checks can fail: an image from the network and one outside the folder are both reported.
        var outside = Path.Combine(temp.Path, "outside.png");
        PngEncoder.Write(outside, thumb);
        var bad = new HtmlReportPage("Reaches out");
        bad.Raw($"<img src=\"http://example.invalid/x.png\"><img src=\"{new Uri(outside).AbsoluteUri}\">");
        var badReport = Path.Combine(folder, "bad.html");
        bad.WriteAtomically(badReport);
        using var badBrowser = ReportBrowser.TryOpen(badReport, temp.Path, output)!;
        var reported = badBrowser.UrlsOutsideReportFolder();
        Assert.Contains("http://example.invalid/x.png", reported);
        Assert.Contains(new Uri(outside).AbsoluteUri, reported);
        Assert.NotEmpty(badBrowser.ConsoleErrors());
    }
}
