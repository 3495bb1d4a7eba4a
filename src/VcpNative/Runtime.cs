// What one model host runs on: a backend and a CPU thread pool, owned together so a process can hold several.
using VcpNative.Tensors;

namespace VcpNative;

/// <summary>
/// The compute a detector, trainer or CLI run uses: its <see cref="Backend"/> and its <see cref="CpuThreads"/>. Nothing
/// here is process-global: two runtimes with different thread counts (or devices) work side by side in one process.
/// Work runs on the pool of the thread that calls it, so every entry point does its work inside <see cref="Enter"/>.
/// </summary>
/// <remarks>Thread-safe to enter from several threads at once; disposing it while work runs is the owner's mistake.</remarks>
public sealed class Runtime : IDisposable
{
    private readonly IDisposable? ownedBackend;
    private readonly bool ownsThreads;
    private bool disposed;

    /// <summary>
    /// A runtime on <paramref name="backend"/> with its own pool of <paramref name="threads"/> CPU threads, or, with
    /// null, the pool of the thread that creates it (by default one thread per core).
    /// </summary>
    /// <param name="backend">The backend tensors of this runtime's models live on.</param>
    /// <param name="threads">CPU threads for tensor ops and image resizing; null: the creating thread's pool.</param>
    /// <param name="ownsBackend">Dispose the backend with the runtime (when it is disposable, e.g. a GPU backend).</param>
    public Runtime(IBackend backend, int? threads = null, bool ownsBackend = false)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (threads is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be at least 1, got {threads}");
        }
        Backend = backend;
        ownedBackend = ownsBackend ? backend as IDisposable : null;
        ownsThreads = threads is not null;
        CpuThreads = threads is int n ? new CpuThreadPool(n) : CpuThreadPool.Current;
    }

    /// <summary>The backend (CPU, CUDA or the PTX emulator).</summary>
    public IBackend Backend { get; }

    /// <summary>The CPU threads ops use while this runtime is entered.</summary>
    public CpuThreadPool CpuThreads { get; }

    /// <summary>Makes this runtime's thread pool the calling thread's until the scope is disposed.</summary>
    /// <exception cref="ObjectDisposedException">The runtime was disposed.</exception>
    public CpuThreadPool.Scope Enter()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return CpuThreads.Enter();
    }

    /// <summary>Stops the runtime's own threads and frees an owned backend; safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        if (ownsThreads)
        {
            CpuThreads.Dispose();
        }
        ownedBackend?.Dispose();
    }
}
