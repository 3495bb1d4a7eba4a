// The CLI's view of a library run: log lines on stdout, skipped inputs on stderr, one progress bar per stage.
namespace VcpNative.Cli;

/// <summary>Shows a <see cref="Trainer"/> or <see cref="Evaluator"/> run as the verbs always have; disposing it ends any live bar.</summary>
public sealed class ConsoleRunObserver(TextWriter output, TextWriter error) : IRunObserver, IDisposable
{
    private ProgressReporter? progress;
    private string? stage;
    private int done;

    /// <inheritdoc/>
    public void OnProgress(string stage, int done, int total, string? status)
    {
        if (progress is null || this.stage != stage)
        {
            progress?.Dispose();
            progress = new ProgressReporter(stage, total, error);
            this.stage = stage;
            this.done = 0;
        }
        progress.Advance(done - this.done, status);
        this.done = done;
    }

    /// <inheritdoc/>
    public void OnStageFinished(string stage) => Dispose();

    /// <inheritdoc/>
    public void OnLog(string message) => output.WriteLine(message);

    /// <inheritdoc/>
    public void OnInputFailed(InputFailure failure, bool validation) =>
        error.WriteLine($"vcp-native: {(validation ? "validation skipped" : "skipped")} {ErrorText.ForInput(failure.Path, CliApp.OneLine(failure.Error))}");

    /// <inheritdoc/>
    public void Dispose()
    {
        progress?.Dispose();
        progress = null;
        stage = null;
    }
}
