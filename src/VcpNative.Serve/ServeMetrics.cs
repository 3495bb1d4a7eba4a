// The server's Prometheus metrics through prometheus-net (issue #19), in a registry of this server's own: no static
// default registry, so two servers in one process (tests, an app holding several models) keep separate counts.
using Prometheus;

namespace VcpNative.Serve;

/// <summary>Request counts by route and status, request latency, queue depth, batch sizes and images computed. Thread-safe.</summary>
public sealed class ServeMetrics
{
    /// <summary>The content type of <see cref="WriteAsync"/>: Prometheus text exposition format 0.0.4.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64];

    private readonly CollectorRegistry registry = Metrics.NewCustomRegistry();
    private readonly Counter requests;
    private readonly Histogram latency;
    private readonly Histogram batchSizes;
    private readonly Counter imagesComputed;
    private readonly Gauge queueDepth;

    /// <summary>Creates the metrics in a new registry.</summary>
    public ServeMetrics()
    {
        // Exemplars (trace ids from Activity.Current) appear only in OpenMetrics output, which /metrics does not serve.
        var factory = Metrics.WithCustomRegistry(registry);
        requests = factory.CreateCounter("vcp_serve_requests_total", "HTTP requests answered, by route pattern and status.", "route", "status");
        latency = factory.CreateHistogram("vcp_serve_request_duration_seconds", "Time from request start to the end of the answer.",
            ["route"], new HistogramConfiguration { Buckets = LatencyBuckets });
        batchSizes = factory.CreateHistogram("vcp_serve_batch_size", "Images per computed batch.", new HistogramConfiguration { Buckets = BatchBuckets });
        imagesComputed = factory.CreateCounter("vcp_serve_images_computed_total", "Images run through the model.");
        queueDepth = factory.CreateGauge("vcp_serve_queue_depth", "Requests waiting for a batch.");
    }

    /// <summary>Counts one answered request and its latency.</summary>
    public void ObserveRequest(string route, int status, double seconds)
    {
        requests.WithLabels(route, status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        latency.WithLabels(route).Observe(seconds);
    }

    /// <summary>Counts one computed batch of <paramref name="size"/> images.</summary>
    public void ObserveBatch(int size)
    {
        batchSizes.Observe(size);
        imagesComputed.Inc(size);
    }

    /// <summary>Sets the number of requests waiting for a batch.</summary>
    public void SetQueueDepth(int depth) => queueDepth.Set(depth);

    /// <summary>Writes all metrics in Prometheus text format (<see cref="ContentType"/>).</summary>
    public Task WriteAsync(Stream destination, CancellationToken cancellationToken) =>
        registry.CollectAndExportAsTextAsync(destination, cancellationToken);
}
