// Batches computed at once on the CPU, each pipeline on its own share of the cores, results handed back in order.
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Inference;

/// <summary>
/// <c>count</c> long-lived threads, each with a CPU thread pool of <c>threadsEach</c> threads, that take batches in
/// turn (batch i goes to pipeline i mod count). The caller waits for jobs in submission order, so results keep the input
/// order. Threads live as long as the pipelines, so their per-thread pack buffers and scratch memory are reused.
/// </summary>
/// <remarks>
/// Why: a 2-thread sgemm waits at barriers and shares B blocks between cores; two 1-thread pipelines never wait for
/// each other. Measured numbers and when each mode wins are in docs/performance.md.
/// </remarks>
internal sealed class CpuPipelines : IDisposable
{
    private readonly BlockingCollection<Job>[] queues;
    private readonly Thread[] threads;
    private int next;

    public CpuPipelines(int count, int threadsEach)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(threadsEach, 1);
        queues = new BlockingCollection<Job>[count];
        threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            var queue = queues[i] = new BlockingCollection<Job>();
            threads[i] = new Thread(() => Work(queue, threadsEach)) { IsBackground = true, Name = $"vcp-pipeline-{i + 1}" };
            threads[i].Start();
        }
    }

    /// <summary>Pipelines in use.</summary>
    public int Count => queues.Length;

    /// <summary>Queues <paramref name="work"/> on the next pipeline; <see cref="Job.Wait"/> gives its result.</summary>
    public Job Submit(Func<AnomalyImageResult[]> work)
    {
        var job = new Job(work);
        queues[next].Add(job);
        next = (next + 1) % queues.Length;
        return job;
    }

    /// <summary>Lets every pipeline finish the job it has, then ends the threads (queued jobs not started are dropped).</summary>
    public void Dispose()
    {
        foreach (var queue in queues)
        {
            queue.CompleteAdding();
        }
        foreach (var thread in threads)
        {
            thread.Join();
        }
        foreach (var queue in queues)
        {
            while (queue.TryTake(out var dropped))
            {
                dropped.Drop();
            }
            queue.Dispose();
        }
    }

    private static void Work(BlockingCollection<Job> queue, int threadsEach)
    {
        using var pool = new CpuThreadPool(threadsEach);
        using var entered = pool.Enter();
        foreach (var job in queue.GetConsumingEnumerable())
        {
            job.Run();
        }
    }

    /// <summary>One batch's computation on a pipeline.</summary>
    internal sealed class Job(Func<AnomalyImageResult[]> work)
    {
        private readonly ManualResetEventSlim done = new(false);
        private AnomalyImageResult[]? result;
        private ExceptionDispatchInfo? error;

        public void Run()
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        }

        public void Drop()
        {
            error = ExceptionDispatchInfo.Capture(new OperationCanceledException("the batch was queued when its pipelines stopped"));
            done.Set();
        }

        /// <summary>Blocks until the batch is computed; rethrows what its computation threw.</summary>
        public AnomalyImageResult[] Wait()
        {
            done.Wait();
            error?.Throw();
            return result!;
        }
    }
}
