// Opens an HTML report file in headless chromium (HeadlessChromium) for the report tests: console errors, every URL the
// page loaded, the DOM, and a screenshot that must not be blank.
using System.Collections.ObjectModel;
using OpenQA.Selenium;
using VcpNative.IO.Images;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Reports;

internal sealed class ReportBrowser : IDisposable
{
    private readonly HeadlessChromium _chromium;

    private ReportBrowser(HeadlessChromium chromium, string reportPath)
    {
        _chromium = chromium;
        ReportPath = Path.GetFullPath(reportPath);
        ReportFolder = Path.GetDirectoryName(ReportPath)!;
    }

    public string ReportPath { get; }

    public string ReportFolder { get; }

    public IWebDriver Driver => _chromium.Driver;

    /// <summary>
    /// The report at <paramref name="reportPath"/> loaded (images complete) in a fresh browser whose profile lives under
    /// <paramref name="scratchFolder"/> (outside the report folder); null, with the SKIPPED reason printed, without chromium.
    /// </summary>
    public static ReportBrowser? TryOpen(string reportPath, string scratchFolder, ITestOutputHelper output)
    {
        var chromium = HeadlessChromium.TryStart(Path.Combine(scratchFolder, "chromium-profile-" + Guid.NewGuid().ToString("N")), output);
        if (chromium is null)
        {
            return null;
        }
        var browser = new ReportBrowser(chromium, reportPath);
        try
        {
            browser.Driver.Navigate().GoToUrl(new Uri(browser.ReportPath).AbsoluteUri);
            browser.WaitForImages();
            return browser;
        }
        catch
        {
            browser.Dispose();
            throw;
        }
    }

    /// <summary>Console messages at Warning or above (failed loads, CSP violations, script errors) since the last call.</summary>
    public List<string> ConsoleErrors() => _chromium.ConsoleErrors();

    /// <summary>Every URL the page requested or refers to: performance resource entries, img src, link href, script src.</summary>
    public List<string> ResourceUrls()
    {
        var js = (IJavaScriptExecutor)Driver;
        var urls = js.ExecuteScript("""
            const urls = performance.getEntriesByType('resource').map(e => e.name);
            for (const i of document.images) urls.push(i.currentSrc || i.src);
            for (const l of document.querySelectorAll('link[href]')) urls.push(l.href);
            for (const s of document.querySelectorAll('script[src]')) urls.push(s.src);
            for (const e of document.querySelectorAll('[style*="url("]')) urls.push(e.getAttribute('style'));
            return urls;
            """) as ReadOnlyCollection<object>;
        return [.. (urls ?? new ReadOnlyCollection<object>([])).Select(u => u?.ToString() ?? "")];
    }

    /// <summary>The URLs of <see cref="ResourceUrls"/> that are neither a file inside the report's folder nor a data: URL.</summary>
    public List<string> UrlsOutsideReportFolder()
    {
        var folder = ReportFolder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var outside = new List<string>();
        foreach (var url in ResourceUrls())
        {
            if (url.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.IsFile
                && Path.GetFullPath(uri.LocalPath).StartsWith(folder, StringComparison.Ordinal) && File.Exists(uri.LocalPath))
            {
                continue;
            }
            outside.Add(url);
        }
        return outside;
    }

    /// <summary>An element's attribute, "" when it has none.</summary>
    public static string Attr(IWebElement element, string name) => element.GetAttribute(name) ?? "";

    /// <summary>Elements matching a CSS selector.</summary>
    public ReadOnlyCollection<IWebElement> All(string css) => Driver.FindElements(By.CssSelector(css));

    /// <summary>Saves a screenshot of the window as a PNG at <paramref name="path"/> and returns its number of distinct colours.</summary>
    public int SaveScreenshot(string path)
    {
        var shot = ((ITakesScreenshot)Driver).GetScreenshot();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, shot.AsByteArray);
        return DistinctColours(ImageDecoder.Decode(shot.AsByteArray, path));
    }

    /// <summary>Saves a screenshot (see <see cref="SaveScreenshot"/>) and fails the test when it is blank (a single colour).</summary>
    public void SaveNonBlankScreenshot(string path)
    {
        var colours = SaveScreenshot(path);
        Assert.True(colours > 1, $"the screenshot {path} of {ReportPath} is blank ({colours} colour)");
    }

    /// <summary>Distinct RGB (or grey) values in <paramref name="image"/>.</summary>
    public static int DistinctColours(PixelImage image)
    {
        var seen = new HashSet<int>();
        var p = image.Pixels;
        for (var i = 0; i + image.Channels <= p.Length; i += image.Channels)
        {
            seen.Add(image.Channels == 1 ? p[i] : (p[i] << 16) | (p[i + 1] << 8) | p[i + 2]);
        }
        return seen.Count;
    }

    private void WaitForImages()
    {
        var js = (IJavaScriptExecutor)Driver;
        for (var waited = 0; ; waited += 50)
        {
            var done = js.ExecuteScript("return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete);");
            if (done is true)
            {
                return;
            }
            Assert.True(waited < 30_000, $"{ReportPath} did not finish loading within 30 s");
            Thread.Sleep(50);
        }
    }

    public void Dispose() => _chromium.Dispose();
}
