// The server's Prometheus metrics, written as text exposition format 0.0.4 by hand: a few counters, one gauge and
// two histograms do not justify a dependency (and the writer below has no reflection, so NativeAOT stays warning-free).
using System.Globalization;
using System.Text;

namespace VcpNative.Cli.Serve;

/// <summary>Request counts by route and status, request latency, queue depth, batch sizes and images computed. Thread-safe.</summary>
public sealed class ServeMetrics
{
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64];

    private readonly object gate = new();
    private readonly SortedDictionary<(string Route, int Status), long> requests = [];
    private readonly SortedDictionary<string, Histogram> latency = new(StringComparer.Ordinal);
    private readonly Histogram batchSizes = new(BatchBuckets);
    private long imagesComputed;
    private int queueDepth;

    /// <summary>Counts one answered request and its latency.</summary>
    public void ObserveRequest(string route, int status, double seconds)
    {
        lock (gate)
        {
            requests[(route, status)] = requests.GetValueOrDefault((route, status)) + 1;
            if (!latency.TryGetValue(route, out var h))
            {
                latency[route] = h = new Histogram(LatencyBuckets);
            }
            h.Observe(seconds);
        }
    }

    /// <summary>Counts one computed batch of <paramref name="size"/> images.</summary>
    public void ObserveBatch(int size)
    {
        lock (gate)
        {
            batchSizes.Observe(size);
            imagesComputed += size;
        }
    }

    /// <summary>Sets the number of requests waiting for a batch.</summary>
    public void SetQueueDepth(int depth) => Volatile.Write(ref queueDepth, depth);

    /// <summary>All metrics in Prometheus text format.</summary>
    public string Render()
    {
        var s = new StringBuilder();
        lock (gate)
        {
            s.Append("# HELP vcp_serve_requests_total HTTP requests answered, by route pattern and status.\n# TYPE vcp_serve_requests_total counter\n");
            foreach (var ((route, status), count) in requests)
            {
                s.Append(Inv($"vcp_serve_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}\n"));
            }
            s.Append("# HELP vcp_serve_request_duration_seconds Time from request start to the end of the answer.\n# TYPE vcp_serve_request_duration_seconds histogram\n");
            foreach (var (route, h) in latency)
            {
                h.Write(s, "vcp_serve_request_duration_seconds", $"route=\"{route}\",");
            }
            s.Append("# HELP vcp_serve_batch_size Images per computed batch.\n# TYPE vcp_serve_batch_size histogram\n");
            batchSizes.Write(s, "vcp_serve_batch_size", "");
            s.Append(Inv($"# HELP vcp_serve_images_computed_total Images run through the model.\n# TYPE vcp_serve_images_computed_total counter\nvcp_serve_images_computed_total {imagesComputed}\n"));
        }
        s.Append(Inv($"# HELP vcp_serve_queue_depth Requests waiting for a batch.\n# TYPE vcp_serve_queue_depth gauge\nvcp_serve_queue_depth {Volatile.Read(ref queueDepth)}\n"));
        return s.ToString();
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] counts = new long[bounds.Length];
        private long count;
        private double sum;

        public void Observe(double value)
        {
            for (var i = 0; i < bounds.Length; i++)
            {
                if (value <= bounds[i])
                {
                    counts[i]++;
                }
            }
            count++;
            sum += value;
        }

        public void Write(StringBuilder s, string name, string labels)
        {
            for (var i = 0; i < bounds.Length; i++)
            {
                s.Append(Inv($"{name}_bucket{{{labels}le=\"{bounds[i]}\"}} {counts[i]}\n"));
            }
            s.Append(Inv($"{name}_bucket{{{labels}le=\"+Inf\"}} {count}\n"));
            var plain = labels.TrimEnd(',');
            var braces = plain.Length > 0 ? "{" + plain + "}" : "";
            s.Append(Inv($"{name}_sum{braces} {sum}\n{name}_count{braces} {count}\n"));
        }
    }
}
