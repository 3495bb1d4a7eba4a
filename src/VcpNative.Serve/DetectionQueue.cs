// Dynamic batching: requests wait in a bounded queue and are computed in batches of up to --max-batch, each batch
// closing after --max-delay-ms; results go back to each request as its batch finishes.
using System.Diagnostics;
using System.Threading.Channels;
using VcpNative.IO.Images;

namespace VcpNative.Serve;

/// <summary>One computed request: its result and how it got there.</summary>
public sealed record QueuedDetection(AnomalyResult Result, int BatchSize, double QueueMs, double ComputeMs);

/// <summary>
/// The queue between the request handlers and the detector. One worker thread computes; a full queue refuses at once
/// (<see cref="TryEnqueue"/> returns null), and a request cancelled (client gone, timed out) before its batch starts is
/// dropped without computing. One bad image fails only its own request.
/// </summary>
public sealed class DetectionQueue : IAsyncDisposable
{
    private readonly AnomalyDetector detector;
    private readonly int maxBatch;
    private readonly int capacity;
    private readonly TimeSpan maxDelay;
    private readonly ServeMetrics metrics;
    private readonly Channel<Job> channel;
    private readonly Task worker;
    private readonly ManualResetEventSlim running = new(true);
    private int depth;

    /// <summary>Starts the worker over <paramref name="detector"/> (not owned).</summary>
    public DetectionQueue(AnomalyDetector detector, ServeSettings settings, ServeMetrics metrics)
    {
        this.detector = detector;
        this.metrics = metrics;
        maxBatch = settings.MaxBatch;
        capacity = settings.Queue;
        maxDelay = TimeSpan.FromMilliseconds(settings.MaxDelayMs);
        channel = Channel.CreateBounded<Job>(new BoundedChannelOptions(settings.Queue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        worker = Task.Factory.StartNew(() => WorkAsync().GetAwaiter().GetResult(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Requests waiting for a batch.</summary>
    public int Depth => Volatile.Read(ref depth);

    /// <summary>Whether a request queued now would be refused; checked before a body is read, so overload answers cost no decoding.</summary>
    public bool IsFull => Depth >= capacity;

    /// <summary>Queues one decoded image; null when the queue is full (or closed).</summary>
    public Task<QueuedDetection>? TryEnqueue(RgbImage image, CancellationToken cancellationToken)
    {
        var job = new Job(image, cancellationToken, Stopwatch.GetTimestamp());
        Interlocked.Increment(ref depth);
        if (!channel.Writer.TryWrite(job))
        {
            Interlocked.Decrement(ref depth);
            return null;
        }
        metrics.SetQueueDepth(Depth);
        return job.Done.Task;
    }

    /// <summary>Tests: stop starting batches (requests stay queued) until <see cref="Resume"/>, to make a full queue or a timeout certain.</summary>
    internal void Pause() => running.Reset();

    /// <summary>Tests: start batches again.</summary>
    internal void Resume() => running.Set();

    /// <summary>Stops taking requests, computes what is queued, and waits for the worker.</summary>
    public async ValueTask DisposeAsync()
    {
        channel.Writer.TryComplete();
        await worker.ConfigureAwait(false);
    }

    private async Task WorkAsync()
    {
        var reader = channel.Reader;
        var batch = new List<Job>(maxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            running.Wait();
            batch.Clear();
            await FillAsync(reader, batch).ConfigureAwait(false);
            metrics.SetQueueDepth(Depth);
            // Requests whose client left or whose deadline passed are dropped before they cost a forward pass.
            batch.RemoveAll(j => j.Token.IsCancellationRequested && j.Done.TrySetCanceled(j.Token));
            if (batch.Count > 0)
            {
                Compute(batch);
            }
        }
    }

    private async Task FillAsync(ChannelReader<Job> reader, List<Job> batch)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(maxDelay.TotalSeconds * Stopwatch.Frequency);
        while (batch.Count < maxBatch)
        {
            if (reader.TryRead(out var job))
            {
                Interlocked.Decrement(ref depth);
                batch.Add(job);
                continue;
            }
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
            {
                return;
            }
            using var wait = new CancellationTokenSource(left);
            try
            {
                if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Compute(List<Job> batch)
    {
        var started = Stopwatch.GetTimestamp();
        AnomalyResult[]? results = null;
        try
        {
            results = detector.DetectMany(batch.Select(j => j.Image), batch.Count).ToArray();
        }
        catch (Exception)
        {
            // DetectMany stops at the first failure: score each image alone so only the bad one fails.
        }
        metrics.ObserveBatch(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var job = batch[i];
            try
            {
                var result = results?[i] ?? detector.Detect(job.Image);
                var computeMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var queueMs = Stopwatch.GetElapsedTime(job.Enqueued, started).TotalMilliseconds;
                job.Done.TrySetResult(new QueuedDetection(result, batch.Count, queueMs, computeMs));
            }
            catch (Exception e)
            {
                job.Done.TrySetException(e);
            }
        }
    }

    private sealed record Job(RgbImage Image, CancellationToken Token, long Enqueued)
    {
        public TaskCompletionSource<QueuedDetection> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
