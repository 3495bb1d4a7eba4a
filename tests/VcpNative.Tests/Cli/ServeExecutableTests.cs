// `serve` is its own executable in the NativeAOT release: which one each CLI build and the launcher hand the verb to, and
// that the JIT CLI (dotnet run, ./vcp-native, these tests) still serves in-process. The exec itself runs in
// tools/release.sh --smoke, on the published binaries.
using VcpNative.Cli;
using VcpNative.Launcher;
using Xunit;

namespace VcpNative.Tests.Cli;

public class ServeExecutableTests
{
    [Theory]
    [InlineData("vcp-native-avx2", "vcp-native-serve-avx2")]
    [InlineData("vcp-native-avx512", "vcp-native-serve-avx512")]
    [InlineData("vcp-native", "vcp-native-serve")]
    [InlineData("my-renamed-cli", "vcp-native-serve")]
    [InlineData("vcp-native-serve-avx2", "vcp-native-serve")]
    public void EachCliBuildHandsServeToItsOwnServeBuild(string cli, string serve) =>
        Assert.Equal(serve, ServeVerb.ExecutableFor(cli));

    [Fact]
    public void TheLauncherAndTheCliNameTheSameServeBuilds()
    {
        Assert.Equal(X64BuildChoice.ServeAvx2Executable, ServeVerb.ExecutableFor(X64BuildChoice.Avx2Executable));
        Assert.Equal(X64BuildChoice.ServeAvx512Executable, ServeVerb.ExecutableFor(X64BuildChoice.Avx512Executable));
    }

    [Theory]
    [InlineData(new[] { "serve", "--clip", "c.pt" }, true)]
    [InlineData(new[] { "serve" }, true)]
    [InlineData(new[] { "infer", "serve" }, false)]
    [InlineData(new[] { "--threads", "2", "serve" }, false)]   // the CLI build hands it on itself
    [InlineData(new string[0], false)]
    public void TheLauncherPicksTheServeBuildsForTheServeVerb(string[] args, bool serve)
    {
        var (avx512, avx2) = X64BuildChoice.ExecutablesFor(args);
        Assert.Equal(serve ? (X64BuildChoice.ServeAvx512Executable, X64BuildChoice.ServeAvx2Executable)
            : (X64BuildChoice.Avx512Executable, X64BuildChoice.Avx2Executable), (avx512, avx2));
    }

    [Fact]
    public void TheJitCliServesInProcessWithTheServersOwnOptions()
    {
        Assert.True(ServeExecutable.Linked, "the test build of the CLI should reference src/VcpNative.Serve (SERVE_LINKED)");
        var parse = CliApp.Build().Parse(["--threads", "1", "serve", "--clip", "c.pt", "--head", "h.pth", "--port", "0"]);
        Assert.False(ServeExecutable.Chosen(parse));
        Assert.Empty(parse.Errors);
        Assert.Contains(parse.CommandResult.Command.Options, o => o.Name == "--max-batch");
    }
}
