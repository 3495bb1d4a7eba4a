// The end of a batch verb: the inputs that failed, listed on stderr, and the exit code that says so.
namespace VcpNative.Cli;

/// <summary>Failed inputs of eval and compare.</summary>
public static class FailureReport
{
    /// <summary>Lists failed inputs on stderr; exit code 3 when there were any.</summary>
    public static int Write(IReadOnlyList<InputFailure> failures, TextWriter stderr)
    {
        if (failures.Count == 0)
        {
            return ExitCodes.Ok;
        }
        stderr.WriteLine($"vcp-native: {failures.Count} input(s) failed:");
        foreach (var f in failures)
        {
            stderr.WriteLine($"  {ErrorText.ForInput(f.Path, CliApp.OneLine(f.Error))}");
        }
        return ExitCodes.PartialFailure;
    }
}
