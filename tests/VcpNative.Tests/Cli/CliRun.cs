// Runs the CLI in-process with captured output, for end-to-end tests of the verbs.
using VcpNative.Cli;

namespace VcpNative.Tests.Cli;

internal static class CliRun
{
    /// <summary>Exit code, standard output and standard error of <c>vcp-native ARGS</c>.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
