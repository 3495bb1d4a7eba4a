// Events of a long library run (training, evaluation) for whoever shows them: a CLI progress bar, a log, an app's UI.
namespace VcpNative;

/// <summary>An input image that could not be read or scored; the run went on without it.</summary>
/// <param name="Path">The image file.</param>
/// <param name="Error">Why it failed.</param>
public sealed record InputFailure(string Path, Exception Error);

/// <summary>
/// Receives progress, log lines and results of a <see cref="Trainer"/> or <see cref="Evaluator"/> run, on the thread that
/// runs it. Every member has an empty default, so an observer implements only what it shows.
/// </summary>
public interface IRunObserver
{
    /// <summary>
    /// <paramref name="done"/> of <paramref name="total"/> items of <paramref name="stage"/> (e.g. "train", "eval vcp") are
    /// finished; <paramref name="status"/> is a short text to show beside the count, or null for the observer's own.
    /// </summary>
    /// <param name="stage">Label of the stage; the same label until <see cref="OnStageFinished"/>.</param>
    /// <param name="done">Items finished so far (cumulative).</param>
    /// <param name="total">Items the stage will finish.</param>
    /// <param name="status">Status text, or null.</param>
    void OnProgress(string stage, int done, int total, string? status) { }

    /// <summary>The stage named <paramref name="stage"/> has ended (no more <see cref="OnProgress"/> for it).</summary>
    /// <param name="stage">Label given to <see cref="OnProgress"/>.</param>
    void OnStageFinished(string stage) { }

    /// <summary>A line for the user (what the CLI prints on standard output), e.g. "train: epoch 2/10 done, ...".</summary>
    /// <param name="message">One line, no trailing newline.</param>
    void OnLog(string message) { }

    /// <summary>An input was skipped; the run goes on and counts it as a failure.</summary>
    /// <param name="failure">The input and its error.</param>
    /// <param name="validation">True when it happened while validating between training epochs.</param>
    void OnInputFailed(InputFailure failure, bool validation) { }

    /// <summary>A training epoch ended.</summary>
    /// <param name="epoch">The finished epoch (1-based) and its last step's loss.</param>
    void OnEpoch(EpochReport epoch) { }

    /// <summary>A checkpoint file was written (last.safetensors, epoch_k.safetensors).</summary>
    /// <param name="path">The file written.</param>
    void OnCheckpoint(string path) { }
}

/// <summary>The end of one training epoch.</summary>
/// <param name="Epoch">The finished epoch, 1-based.</param>
/// <param name="Epochs">Epochs asked for.</param>
/// <param name="Steps">Optimizer steps done in total.</param>
/// <param name="Loss">The epoch's last step's loss and its two named parts.</param>
public sealed record EpochReport(int Epoch, int Epochs, long Steps, Anomaly.Training.TrainingLoss Loss);

/// <summary>An observer that ignores every event.</summary>
public sealed class SilentRunObserver : IRunObserver
{
    /// <summary>The one instance.</summary>
    public static SilentRunObserver Instance { get; } = new();
}
