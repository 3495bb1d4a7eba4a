// The CPU thread pool of a runtime and the parallel loops ops run on it: one place that decides how many threads run an op.
using System.Runtime.ExceptionServices;

namespace VcpNative.Tensors;

/// <summary>A loop body that a hot op keeps in a reused object, so a parallel loop allocates nothing per call.</summary>
public interface IParallelLoopBody
{
    /// <summary>Runs iteration <paramref name="index"/>; iterations may run concurrently on different threads.</summary>
    void Run(int index);
}

/// <summary>
/// A pool of CPU threads that runs loop bodies: one per runtime (a CLI run, a detector), so two models with different
/// thread counts can live in one process. Ops reach it through <see cref="CpuParallel"/>, which uses the pool the
/// calling thread has entered (<see cref="Enter"/>) and otherwise <see cref="Shared"/>.
/// </summary>
/// <remarks>
/// Work goes to persistent background threads (started on first use); the calling thread takes part. A pool serves one
/// loop at a time: a loop started while another runs (another caller, or a body that itself calls a parallel loop) runs
/// serially on its caller, which cannot deadlock and keeps results identical. Results never depend on the thread count:
/// every loop body writes disjoint outputs in a fixed order.
/// </remarks>
public sealed class CpuThreadPool : IDisposable
{
    [ThreadStatic]
    private static CpuThreadPool? current;

    private static readonly Lazy<CpuThreadPool> SharedPool = new(() => new CpuThreadPool(Environment.ProcessorCount));

    private readonly WorkerPool pool;

    /// <summary>A pool of <paramref name="threads"/> threads (the caller counts as one); at least 1.</summary>
    public CpuThreadPool(int threads)
    {
        Threads = Math.Max(1, threads);
        pool = new WorkerPool(Threads);
    }

    /// <summary>The process's default pool, one thread per core; never reconfigured.</summary>
    public static CpuThreadPool Shared => SharedPool.Value;

    /// <summary>The pool the calling thread has entered, else <see cref="Shared"/>.</summary>
    public static CpuThreadPool Current => current ?? Shared;

    /// <summary>Number of threads the pool's loops run on.</summary>
    public int Threads { get; }

    /// <summary>Makes this the calling thread's pool until the returned scope is disposed (scopes nest).</summary>
    public Scope Enter()
    {
        ObjectDisposedException.ThrowIf(pool.IsDisposed, this);
        var previous = current;
        current = this;
        return new Scope(previous);
    }

    /// <summary>Stops the pool's threads once they are idle; loops on a disposed pool run serially on the caller.</summary>
    public void Dispose()
    {
        if (ReferenceEquals(this, SharedPool.IsValueCreated ? SharedPool.Value : null))
        {
            return;
        }
        pool.Dispose();
    }

    /// <summary>Restores the thread's previous pool.</summary>
    public readonly struct Scope(CpuThreadPool? previous) : IDisposable
    {
        /// <summary>Makes the pool that was entered before this scope current again.</summary>
        public void Dispose() => current = previous;
    }

    /// <summary>Calls <paramref name="body"/> for every index in [0, count), split over <see cref="Threads"/>.</summary>
    public void For(int count, Action<int> body)
    {
        if (count <= 0)
        {
            return;
        }
        if (Threads == 1 || count == 1 || !pool.TryRun(count, body, null))
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }
        }
    }

    /// <summary>Calls <paramref name="body"/>.Run for every index in [0, count), split over <see cref="Threads"/>, without allocating.</summary>
    public void For(int count, IParallelLoopBody body)
    {
        if (count <= 0)
        {
            return;
        }
        if (Threads == 1 || count == 1 || !pool.TryRun(count, null, body))
        {
            for (var i = 0; i < count; i++)
            {
                body.Run(i);
            }
        }
    }

    /// <summary>Splits [0, count) into at most <see cref="Threads"/> contiguous ranges and runs <paramref name="body"/>(start, end) on each.</summary>
    public void ForRange(int count, Action<int, int> body, int minChunk = 1)
    {
        if (count <= 0)
        {
            return;
        }
        var chunks = Math.Min(Threads, Math.Max(1, count / Math.Max(1, minChunk)));
        if (chunks <= 1 || !pool.TryRunRanges(count, chunks, body))
        {
            body(0, count);
        }
    }

    /// <summary>Background threads plus the caller draining one shared index counter.</summary>
    /// <remarks>
    /// <c>state</c> packs (generation, next index) so a helper that wakes late can only claim indices of the loop it
    /// read the fields of: a claim is a compare-exchange on the very state value it saw, and the caller closes the state
    /// (index = int.MaxValue under a new generation) before it rewrites the fields. So the caller waits only for the
    /// indices to finish, never for a descheduled helper to wake up.
    /// </remarks>
    private sealed class WorkerPool(int threads) : IDisposable
    {
        [ThreadStatic]
        private static bool isWorker;

        private readonly object gate = new();
        private readonly SemaphoreSlim wake = new(0);
        private readonly ManualResetEventSlim done = CreateDoneEvent();
        private readonly List<Thread> workers = [];

        private bool active;
        private volatile bool disposed;
        private long state = int.MaxValue;
        private int generation;

        // The current loop; written while the state is closed, stable until its last index completes.
        private Action<int>? action;
        private IParallelLoopBody? loopBody;
        private Action<int, int>? rangeAction;
        private int rangeCount;
        private int count;
        private int completed;
        private ExceptionDispatchInfo? error;

        /// <summary>
        /// The caller's completion event, with its monitor already created: ManualResetEventSlim allocates that object
        /// (24 bytes) the first time a Wait has to block rather than spin, which under load happened in the middle of
        /// a steady-state GEMM and broke its no-allocation guarantee. One 1 ms timed wait here makes it exist up front.
        /// </summary>
        private static ManualResetEventSlim CreateDoneEvent()
        {
            var e = new ManualResetEventSlim(false);
            e.Wait(1);
            return e;
        }

        public bool TryRun(int iterations, Action<int>? newAction, IParallelLoopBody? newBody) =>
            TryStart(iterations, newAction, newBody, null, 0);

        public bool TryRunRanges(int total, int chunks, Action<int, int> body) =>
            TryStart(chunks, null, null, body, total);

        public bool IsDisposed => disposed;

        /// <summary>Wakes every worker to exit; a loop running now finishes first (the gate is held while it runs).</summary>
        public void Dispose()
        {
            lock (gate)
            {
                if (disposed)
                {
                    return;
                }
                disposed = true;
                if (workers.Count > 0)
                {
                    wake.Release(workers.Count);
                }
            }
        }

        private bool TryStart(int iterations, Action<int>? newAction, IParallelLoopBody? newBody, Action<int, int>? newRange, int total)
        {
            if (isWorker || disposed || !Monitor.TryEnter(gate))
            {
                return false;
            }
            if (active)
            {
                // The caller's own thread is inside a loop body of this pool (Monitor is re-entrant): run serially.
                Monitor.Exit(gate);
                return false;
            }
            active = true;
            try
            {
                var helpers = Math.Min(threads, iterations) - 1;
                EnsureWorkers(helpers);
                generation++;
                Interlocked.Exchange(ref state, Pack(generation, int.MaxValue));
                action = newAction;
                loopBody = newBody;
                rangeAction = newRange;
                rangeCount = total;
                count = iterations;
                completed = 0;
                error = null;
                done.Reset();
                Interlocked.Exchange(ref state, Pack(generation, 0));
                wake.Release(helpers);
                Drain();
                done.Wait();
                Interlocked.Exchange(ref state, Pack(generation, int.MaxValue));
                action = null;
                loopBody = null;
                rangeAction = null;
                error?.Throw();
                return true;
            }
            finally
            {
                active = false;
                Monitor.Exit(gate);
            }
        }

        private static long Pack(int gen, int index) => ((long)gen << 32) | (uint)index;

        private void EnsureWorkers(int helpers)
        {
            while (workers.Count < helpers)
            {
                var thread = new Thread(WorkerLoop) { IsBackground = true, Name = $"vcp-cpu-{workers.Count + 1}" };
                workers.Add(thread);
                thread.Start();
            }
        }

        private void WorkerLoop()
        {
            isWorker = true;
            while (true)
            {
                wake.Wait();
                if (disposed)
                {
                    return;
                }
                Drain();
            }
        }

        private void Drain()
        {
            while (true)
            {
                var seen = Volatile.Read(ref state);
                var index = (int)(seen & 0xFFFFFFFF);
                var total = Volatile.Read(ref count);
                if (index >= total)
                {
                    return;
                }
                if (Interlocked.CompareExchange(ref state, seen + 1, seen) != seen)
                {
                    continue;
                }
                // Index claimed: the loop cannot finish (so its fields cannot change) before this index completes.
                try
                {
                    if (loopBody is not null)
                    {
                        loopBody.Run(index);
                    }
                    else if (action is not null)
                    {
                        action(index);
                    }
                    else
                    {
                        rangeAction!(CpuParallel.ChunkStart(rangeCount, total, index), CpuParallel.ChunkStart(rangeCount, total, index + 1));
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref error, ExceptionDispatchInfo.Capture(e), null);
                }
                if (Interlocked.Increment(ref completed) == total)
                {
                    done.Set();
                }
            }
        }
    }
}

/// <summary>
/// Parallel loops for the CPU backend's ops on the calling thread's <see cref="CpuThreadPool"/>
/// (<see cref="CpuThreadPool.Current"/>): one place that decides how many threads run an op.
/// </summary>
public static class CpuParallel
{
    /// <summary>Threads of the calling thread's pool.</summary>
    public static int Threads => CpuThreadPool.Current.Threads;

    /// <summary>Calls <paramref name="body"/> for every index in [0, count) on the current pool.</summary>
    public static void For(int count, Action<int> body) => CpuThreadPool.Current.For(count, body);

    /// <summary>Calls <paramref name="body"/>.Run for every index in [0, count) on the current pool, without allocating.</summary>
    public static void For(int count, IParallelLoopBody body) => CpuThreadPool.Current.For(count, body);

    /// <summary>Contiguous ranges of [0, count) on the current pool (see <see cref="CpuThreadPool.ForRange"/>).</summary>
    public static void ForRange(int count, Action<int, int> body, int minChunk = 1) => CpuThreadPool.Current.ForRange(count, body, minChunk);

    /// <summary>Start of chunk <paramref name="chunk"/> when [0, count) is cut into <paramref name="chunks"/> near-equal ranges.</summary>
    public static int ChunkStart(int count, int chunks, int chunk) => (int)((long)count * chunk / chunks);
}
