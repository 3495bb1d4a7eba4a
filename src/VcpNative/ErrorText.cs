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

    /// <summary>
    /// "<paramref name="path"/>: <paramref name="oneLine"/>", or the message alone when it already begins with the path
    /// (decoders and weight readers name their file), so a line names its file once.
    /// </summary>
    /// <param name="path">The input the error belongs to.</param>
    /// <param name="oneLine">Its one-line error.</param>
    public static string ForInput(string path, string oneLine) =>
        oneLine.StartsWith(path, StringComparison.Ordinal) ? oneLine : $"{path}: {oneLine}";
}
