// Starts Debian's headless chromium through chromedriver (Selenium, paths given: no Selenium Manager download) for the
// browser tests; without chromium or chromedriver it says why, and the calling test passes as skipped (xunit 2 has no
// run-time skip). .ci/run installs chromium and chromium-driver when it runs as root.
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit.Abstractions;

namespace VcpNative.Tests;

internal sealed class HeadlessChromium : IDisposable
{
    private static readonly string[] Browsers = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
    private const string DriverFolder = "/usr/bin";
    private const string DriverName = "chromedriver";

    private readonly ChromeDriverService _service;

    private HeadlessChromium(ChromeDriverService service, ChromeDriver driver)
    {
        _service = service;
        Driver = driver;
    }

    public ChromeDriver Driver { get; }

    /// <summary>
    /// A browser with its profile under <paramref name="profileFolder"/> and a <paramref name="width"/> x <paramref name="height"/>
    /// window, logging the console at every level; null (after printing the SKIPPED reason) when chromium or chromedriver is missing.
    /// </summary>
    public static HeadlessChromium? TryStart(string profileFolder, ITestOutputHelper output, int width = 1280, int height = 1600)
    {
        var browser = Browsers.FirstOrDefault(File.Exists);
        if (browser is null || !File.Exists(Path.Combine(DriverFolder, DriverName)))
        {
            var why = $"SKIPPED: the browser test needs chromium ({string.Join(", ", Browsers)}) and {DriverFolder}/{DriverName} (apt-get install chromium chromium-driver)";
            output.WriteLine(why);
            Console.WriteLine(why);
            return null;
        }
        var options = new ChromeOptions { BinaryLocation = browser };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--user-data-dir={profileFolder}",
            $"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        var service = ChromeDriverService.CreateDefaultService(DriverFolder, DriverName);
        service.HideCommandPromptWindow = true;
        try
        {
            return new HeadlessChromium(service, new ChromeDriver(service, options, TimeSpan.FromSeconds(60)));
        }
        catch
        {
            service.Dispose();
            throw;
        }
    }

    /// <summary>Console messages at Warning or above since the last call.</summary>
    public List<string> ConsoleErrors() =>
        [.. Driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Warning).Select(e => $"{e.Level}: {e.Message}")];

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        _service.Dispose();
    }
}
