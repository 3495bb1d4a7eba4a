// The web page in a real headless browser (HeadlessChromium: Debian's chromium + chromedriver through Selenium): upload
// an image, read the score from the DOM, no console errors. Without chromium the test says why and passes as skipped.
using OpenQA.Selenium;
using VcpNative.IO.Images;
using VcpNative.Tests.Api;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Serve;

public class ServePageBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task UploadingAnImageShowsItsScoreVerdictAndOverlayWithoutConsoleErrors()
    {
        await using var server = await ServeServer.StartAsync();
        using var temp = new TempDirectory("serve-page");
        var image = Path.Combine(temp.Path, "part.png");
        PngEncoder.Write(image, AnomalyDetectorTests.Pattern(50, 40, 11));
        float expected;
        using (var detector = AnomalyDetector.Open(ServeServer.Clip, ServeServer.Head, ServeServer.Options))
        {
            expected = detector.Detect(image).Score;
        }

        using var chromium = HeadlessChromium.TryStart(Path.Combine(temp.Path, "profile"), output);
        if (chromium is null)
        {
            return;
        }
        var driver = chromium.Driver;
        driver.Navigate().GoToUrl(server.Host.Address);
        await Until(() => driver.FindElement(By.Id("model")).Text.Contains("vcp", StringComparison.Ordinal), "the model line");
        driver.FindElement(By.Id("file")).SendKeys(image);
        await Until(() => driver.FindElement(By.Id("score")).Text != "–", "a score");

        Assert.Equal(expected.ToString("F6", System.Globalization.CultureInfo.InvariantCulture), driver.FindElement(By.Id("score")).Text);
        Assert.Equal(expected > 0.5 ? "anomalous" : "normal", driver.FindElement(By.Id("verdict")).Text);
        Assert.StartsWith("data:image/png;base64,", driver.FindElement(By.Id("overlay")).GetAttribute("src"), StringComparison.Ordinal);
        Assert.Single(driver.FindElements(By.CssSelector("#history tr")));
        var errors = chromium.ConsoleErrors();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        for (var waited = 0; !condition(); waited += 50)
        {
            Assert.True(waited < 30_000, $"the page showed no {what} within 30 s");
            await Task.Delay(50);
        }
    }
}
