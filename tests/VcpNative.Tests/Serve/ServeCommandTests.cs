// The `serve` verb's option handling through CliApp: usage errors are exit 2, bad values exit 1 with one line naming the flag.
using VcpNative.Cli;
using Xunit;

namespace VcpNative.Tests.Serve;

public class ServeCommandTests
{
    private static (int Code, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        var code = CliApp.Run(["serve", .. args], new StringWriter(), error);
        return (code, error.ToString());
    }

    [Fact]
    public void AMissingModelOptionIsAUsageError()
    {
        var (code, error) = Run("--head", ServeServer.Head);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--clip", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port", "70000", "--port must be 0..65535")]
    [InlineData("--queue", "0", "--queue must be at least 1")]
    [InlineData("--max-batch", "0", "--max-batch must be at least 1")]
    [InlineData("--host", "example.org", "--host 'example.org' is not an IP address or localhost")]
    public void ABadValueFailsInOneLineNamingTheFlag(string option, string value, string message)
    {
        var (code, error) = Run("--clip", ServeServer.Clip, "--head", ServeServer.Head, "--image-size", "28", option, value);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingApiKeyFileFailsBeforeBinding()
    {
        var (code, error) = Run("--clip", ServeServer.Clip, "--head", ServeServer.Head, "--api-key-file", "/no/such/key");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("/no/such/key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Int8ComputeWithAGpuDeviceIsAUsageError()
    {
        var error = new StringWriter();
        var code = CliApp.Run(["--device", "emulated", "serve", "--clip", ServeServer.Clip, "--head", ServeServer.Head, "--compute", "int8"], new StringWriter(), error);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--compute int8", error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
    }
}
