// The web page in a real headless browser (Debian's chromium + chromedriver through Selenium): upload an image, read
// the score from the DOM, no console errors. Without chromium the test says why and passes as skipped (xunit 2 has no
// run-time skip); .ci/run installs chromium and chromium-driver when it runs as root.
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using VcpNative.IO.Images;
using VcpNative.Tests.Api;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Serve;

public class ServePageBrowserTests(ITestOutputHelper output)
{
    private static readonly string[] Browsers = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
    private const string DriverFolder = "/usr/bin";
    private const string DriverName = "chromedriver";

    [Fact]
    public async Task UploadingAnImageShowsItsScoreVerdictAndOverlayWithoutConsoleErrors()
    {
        var browser = Browsers.FirstOrDefault(File.Exists);
        if (browser is null || !File.Exists(Path.Combine(DriverFolder, DriverName)))
        {
            var why = $"SKIPPED: the browser test needs chromium ({string.Join(", ", Browsers)}) and {DriverFolder}/{DriverName} (apt-get install chromium chromium-driver)";
            output.WriteLine(why);
            Console.WriteLine(why);
            return;
        }
        await using var server = await ServeServer.StartAsync();
        using var temp = new TempDirectory("serve-page");
        var image = Path.Combine(temp.Path, "part.png");
        PngEncoder.Write(image, AnomalyDetectorTests.Pattern(50, 40, 11));
        float expected;
        using (var detector = AnomalyDetector.Open(ServeServer.Clip, ServeServer.Head, ServeServer.Options))
        {
            expected = detector.Detect(image).Score;
        }

        var options = new ChromeOptions { BinaryLocation = browser };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--user-data-dir={Path.Combine(temp.Path, "profile")}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        using var service = ChromeDriverService.CreateDefaultService(DriverFolder, DriverName);
        service.HideCommandPromptWindow = true;
        using var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        driver.Navigate().GoToUrl(server.Host.Address);
        await Until(() => driver.FindElement(By.Id("model")).Text.Contains("vcp", StringComparison.Ordinal), "the model line");
        driver.FindElement(By.Id("file")).SendKeys(image);
        await Until(() => driver.FindElement(By.Id("score")).Text != "–", "a score");

        Assert.Equal(expected.ToString("F6", System.Globalization.CultureInfo.InvariantCulture), driver.FindElement(By.Id("score")).Text);
        Assert.Equal(expected > 0.5 ? "anomalous" : "normal", driver.FindElement(By.Id("verdict")).Text);
        Assert.StartsWith("data:image/png;base64,", driver.FindElement(By.Id("overlay")).GetAttribute("src"), StringComparison.Ordinal);
        Assert.Single(driver.FindElements(By.CssSelector("#history tr")));
        var errors = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();
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
