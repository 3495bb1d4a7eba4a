// Unknown options and out-of-range values are usage errors (exit 2) naming the option, before any model or image is read.
using VcpNative.Cli;
using Xunit;

namespace VcpNative.Tests.Cli;

public class StrictOptionTests
{
    /// <summary>Runs with a head that is not a head and an input that is not an image: work would fail with exit 1, not 2.</summary>
    private static (int Code, string Err) Run(string verb, params string[] more)
    {
        using var temp = new TempDirectory("strict");
        var junk = Path.Combine(temp.Path, "x.png");
        File.WriteAllText(junk, "not an image");
        var stderr = new StringWriter();
        var code = CliApp.Run([verb, "--clip", junk, "--head", junk, "-o", Path.Combine(temp.Path, "o"), .. more, junk], new StringWriter(), stderr);
        return (code, stderr.ToString());
    }

    [Theory]
    [InlineData("infer", "--image_size", "--image-size")]
    [InlineData("infer", "--bach-size", "--batch-size")]
    [InlineData("calibrate", "--percentil", "--percentile")]
    [InlineData("infer", "--treads", "--threads")]
    public void UnknownOptionIsAUsageErrorWithTheNearestValidOne(string verb, string typo, string suggestion)
    {
        var (code, err) = Run(verb, typo, "112");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains($"unknown option '{typo}' for '{verb}'; did you mean '{suggestion}'?", err);
        Assert.DoesNotContain("x.png", err);
    }

    [Theory]
    [InlineData("infer", "--batch-size", "0")]
    [InlineData("infer", "--image-size", "5000")]
    [InlineData("calibrate", "--percentile", "150")]
    [InlineData("calibrate", "--batch-size", "-1")]
    public void OutOfRangeNumberIsAUsageErrorNamingTheOption(string verb, string option, string value)
    {
        var (code, err) = Run(verb, option, value);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains($"{option} {value} is out of range", err);
    }

    [Fact]
    public void NegativeNumbersAndStdinDashAreNotTakenForOptions()
    {
        Assert.Null(UnknownOptions.Find(CliApp.Build().Parse(["infer", "--clip", "c", "--head", "h", "--threshold", "-0.5", "--files-from", "-", "-o", "o", "a.png"])));
        Assert.Equal(1, UnknownOptions.EditDistance("--image_size", "--image-size"));
    }
}
