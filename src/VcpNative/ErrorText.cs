// Error messages as users see them: one line, never a stack trace.
namespace VcpNative;

/// <summary>The one-line form of an exception used in journals, failure lists and the CLI.</summary>
public static class ErrorText
{
    /// <summary>The exception's message on one line (a single aggregated exception unwrapped, an inner exception's message appended).</summary>
    /// <param name="ex">The error.</param>
    public static string OneLine(Exception ex)
    {
        if (ex is AggregateException agg && agg.InnerExceptions.Count == 1)
        {
            return OneLine(agg.InnerExceptions[0]);
        }
        var message = ex.Message;
        if (ex.InnerException is not null && !message.Contains(ex.InnerException.Message, StringComparison.Ordinal))
        {
            message += ": " + ex.InnerException.Message;
        }
        return message.ReplaceLineEndings(" ");
    }
}
