// What one input did to one reader: accepted, refused with the documented exception, or one of the three failures
// the campaigns hunt for (an undocumented exception, too much allocation, too much time).
namespace VcpNative.FuzzTargets;

/// <summary>How a read ended.</summary>
public enum FuzzVerdict
{
    /// <summary>The reader returned a result.</summary>
    Accepted,
    /// <summary>The reader threw its documented typed exception.</summary>
    Refused,
    /// <summary>Any other exception escaped: a crash.</summary>
    Escaped,
    /// <summary>The read allocated more than the target's bound for this input.</summary>
    OverAllocated,
}

/// <summary>The verdict, with what was measured.</summary>
public sealed record FuzzOutcome(FuzzVerdict Verdict, TimeSpan Elapsed, long AllocatedBytes, long AllocationBound, Exception? Exception)
{
    /// <summary>True for the two verdicts a reader may give: a result or its typed refusal.</summary>
    public bool IsFine => Verdict is FuzzVerdict.Accepted or FuzzVerdict.Refused;

    /// <summary>One line: verdict, time, allocation against its bound, and the exception if any.</summary>
    public override string ToString()
    {
        string text = $"{Verdict} in {Elapsed.TotalMilliseconds:F0} ms, {AllocatedBytes / 1024} KiB allocated (bound {AllocationBound / 1024} KiB)";
        return Exception is null ? text : $"{text}: {Exception.GetType().FullName}: {Exception.Message.ReplaceLineEndings(" ")}";
    }
}

/// <summary>Thrown by the afl++ driver so that afl records a crash for an outcome that is not fine.</summary>
public sealed class FuzzFailureException(string target, FuzzOutcome outcome)
    : Exception($"{target}: {outcome}", outcome.Exception);
