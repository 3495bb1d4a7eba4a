// Parallel loops for the CPU backend: one place that decides how many threads run an op.
using System.Runtime.ExceptionServices;

namespace VcpNative.Tensors.Cpu;

/// <summary>A loop body that a hot op keeps in a reused object, so a parallel loop allocates nothing per call.</summary>
public interface IParallelLoopBody
{
    /// <summary>Runs iteration <paramref name="index"/>; iterations may run concurrently on different threads.</summary>
    void Run(int index);
}

/// <summary>Runs loop bodies over the configured number of CPU threads (global <c>--threads</c>).</summary>
/// <remarks>
/// Work goes to a persistent pool of background threads; the calling thread takes part. The pool serves one loop at a
/// time: a loop started while another runs (another caller, or a body that itself calls a parallel loop) runs serially
/// on its caller, which cannot deadlock and keeps results identical.
/// </remarks>
public static class CpuParallel
{
    private static int threads = Environment.ProcessorCount;
    private static readonly WorkerPool Pool = new();

    /// <summary>Number of worker threads ops may use; defaults to the number of cores.</summary>
    public static int Threads
    {
        get => threads;
        set => threads = value < 1 ? 1 : value;
    }

    /// <summary>Calls <paramref name="body"/> for every index in [0, count), split over <see cref="Threads"/>.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0)
        {
            return;
        }
        if (threads == 1 || count == 1 || !Pool.TryRun(count, body, null))
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }
        }
    }

    /// <summary>Calls <paramref name="body"/>.Run for every index in [0, count), split over <see cref="Threads"/>, without allocating.</summary>
    public static void For(int count, IParallelLoopBody body)
    {
        if (count <= 0)
        {
            return;
        }
        if (threads == 1 || count == 1 || !Pool.TryRun(count, null, body))
        {
            for (var i = 0; i < count; i++)
            {
                body.Run(i);
            }
        }
    }

    /// <summary>Splits [0, count) into at most <see cref="Threads"/> contiguous ranges and runs <paramref name="body"/>(start, end) on each.</summary>
    public static void ForRange(int count, Action<int, int> body, int minChunk = 1)
    {
        if (count <= 0)
        {
            return;
        }
        var chunks = Math.Min(threads, Math.Max(1, count / Math.Max(1, minChunk)));
        if (chunks <= 1 || !Pool.TryRunRanges(count, chunks, body))
        {
            body(0, count);
        }
    }

    /// <summary>Start of chunk <paramref name="chunk"/> when [0, count) is cut into <paramref name="chunks"/> near-equal ranges.</summary>
    public static int ChunkStart(int count, int chunks, int chunk) => (int)((long)count * chunk / chunks);

    /// <summary>Background threads plus the caller draining one shared index counter.</summary>
    /// <remarks>
    /// <c>state</c> packs (generation, next index) so a helper that wakes late can only claim indices of the loop it
    /// read the fields of: a claim is a compare-exchange on the very state value it saw, and the caller closes the state
    /// (index = int.MaxValue under a new generation) before it rewrites the fields. So the caller waits only for the
    /// indices to finish, never for a descheduled helper to wake up.
    /// </remarks>
    private sealed class WorkerPool
    {
        [ThreadStatic]
        private static bool isWorker;

        private readonly object gate = new();
        private readonly SemaphoreSlim wake = new(0);
        private readonly ManualResetEventSlim done = new(false);
        private readonly List<Thread> workers = [];

        private bool active;
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

        public bool TryRun(int iterations, Action<int>? newAction, IParallelLoopBody? newBody) =>
            TryStart(iterations, newAction, newBody, null, 0);

        public bool TryRunRanges(int total, int chunks, Action<int, int> body) =>
            TryStart(chunks, null, null, body, total);

        private bool TryStart(int iterations, Action<int>? newAction, IParallelLoopBody? newBody, Action<int, int>? newRange, int total)
        {
            if (isWorker || !Monitor.TryEnter(gate))
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
                        rangeAction!(ChunkStart(rangeCount, total, index), ChunkStart(rangeCount, total, index + 1));
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
