// What every route shares: the settings, the metrics, and the model once it has loaded (null before).
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using VcpNative.IO.Images;

namespace VcpNative.Serve;

/// <summary>The loaded model and its queue (published together once loading finishes), settings and metrics.</summary>
public sealed class ServeState(ServeSettings settings, ServeMetrics metrics)
{
    private volatile LoadedService? loaded;

    /// <summary>The server's settings.</summary>
    public ServeSettings Settings { get; } = settings;

    /// <summary>The server's metrics.</summary>
    public ServeMetrics Metrics { get; } = metrics;

    /// <summary>The model and its queue; null while loading.</summary>
    public LoadedService? Loaded => loaded;

    /// <summary>Makes the model visible to the routes (readiness turns 200).</summary>
    public void Publish(LoadedService service) => loaded = service;

    /// <summary>The model, or 503 while it loads.</summary>
    public LoadedService Ready() => loaded ?? throw new ServeRequestException(StatusCodes.Status503ServiceUnavailable, "the model is still loading");

    /// <summary>The model, or 503 while it loads or (with Retry-After) while its queue is full: called before the body is read.</summary>
    public LoadedService ReadyWithRoom(HttpContext context)
    {
        var service = Ready();
        if (service.Queue.IsFull)
        {
            throw QueueFull(context);
        }
        return service;
    }

    /// <summary>
    /// Queues <paramref name="image"/> and waits for its result: 503 with Retry-After when the queue is full, 504 past
    /// --timeout-ms; a client that leaves cancels the wait and the request is dropped before it is computed.
    /// </summary>
    public async Task<QueuedDetection> DetectAsync(HttpContext context, RgbImage image)
    {
        var service = Ready();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(Settings.TimeoutMs);
        var pending = service.Queue.TryEnqueue(image, deadline.Token);
        if (pending is null)
        {
            throw QueueFull(context);
        }
        try
        {
            var done = await pending.WaitAsync(deadline.Token);
            context.Items[ServeHost.BatchSizeItem] = done.BatchSize;
            return done;
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new ServeRequestException(StatusCodes.Status504GatewayTimeout, $"no result within {Settings.TimeoutMs} ms (--timeout-ms)");
        }
    }

    private ServeRequestException QueueFull(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return new ServeRequestException(StatusCodes.Status503ServiceUnavailable, $"the queue is full ({Settings.Queue} requests waiting); retry later");
    }

    /// <summary>Writes <paramref name="value"/> as JSON with <paramref name="status"/>.</summary>
    public static Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return System.Text.Json.JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}

/// <summary>A loaded detector, the queue in front of it, and the head file's fingerprint.</summary>
public sealed record LoadedService(AnomalyDetector Detector, DetectionQueue Queue, string HeadSha256);
