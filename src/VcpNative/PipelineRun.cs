// What Trainer and Evaluator share: the backend they run on and the observer they report to.
using VcpNative.Tensors;

namespace VcpNative;

/// <summary>A library pipeline bound to a backend and an observer (none: silent).</summary>
/// <remarks>
/// CPU work runs on the calling thread's <see cref="CpuThreadPool"/>: call it inside <see cref="Runtime.Enter"/> of a
/// <see cref="Runtime"/> to choose the thread count (the CLI enters one per run, sized by --threads).
/// </remarks>
public abstract class PipelineRun
{
    /// <summary>Binds the pipeline to <paramref name="backend"/> and <paramref name="observer"/>.</summary>
    /// <param name="backend">Backend of the model and the batches.</param>
    /// <param name="observer">Receiver of progress, log lines and events; null for none.</param>
    protected PipelineRun(IBackend backend, IRunObserver? observer)
    {
        Backend = backend;
        Observer = observer ?? SilentRunObserver.Instance;
    }

    /// <summary>Backend of the model and the batches.</summary>
    protected IBackend Backend { get; }

    /// <summary>Receiver of progress, log lines and events.</summary>
    protected IRunObserver Observer { get; }
}
