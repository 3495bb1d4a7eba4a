// What `vcp-native serve` was asked for: where to listen, how to batch, and the limits every request is held to.
namespace VcpNative.Serve;

/// <summary>The server's settings; every member has the default <c>serve</c> uses.</summary>
public sealed record ServeSettings
{
    /// <summary>Address to bind: 127.0.0.1 unless asked otherwise (a name such as localhost, or an IP; 0.0.0.0 for all).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (the bound address is in <see cref="ServeHost.Address"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Most images computed in one batch.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>How long the first request of a batch waits for others to join it.</summary>
    public int MaxDelayMs { get; init; } = 5;

    /// <summary>Requests waiting to be computed; one more is answered 503 with Retry-After at once.</summary>
    public int Queue { get; init; } = 64;

    /// <summary>Per-request deadline from queueing (body read and decoded) to result; past it the request gets 504.</summary>
    public int TimeoutMs { get; init; } = 30000;

    /// <summary>Largest request body in MiB; a larger one gets 413 before it is buffered.</summary>
    public int MaxRequestMb { get; init; } = 32;

    /// <summary>When set, every route but the health checks needs <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The model's name in the Open Inference Protocol routes (/v2/models/{name}).</summary>
    public string ModelName { get; init; } = "vcp-native";

    /// <summary>On SIGTERM, how long queued and running requests may take to finish.</summary>
    public int DrainSeconds { get; init; } = 30;

    /// <summary>Decoded images larger than this (per side, in total) are refused from their header with 422.</summary>
    public IO.Images.ImageSizeLimits ImageLimits { get; init; } = new(MaxSide: 16384, MaxPixels: 1L << 26);

    /// <summary>The body limit in bytes.</summary>
    public long MaxRequestBytes => (long)MaxRequestMb * 1024 * 1024;

    /// <summary>Throws <see cref="RunSetupException"/> naming the flag of a value the server cannot run with (a usage error, exit 2).</summary>
    public void Validate()
    {
        Check(Port is >= 0 and <= 65535, "--port must be 0..65535");
        Check(MaxBatch >= 1, "--max-batch must be at least 1");
        Check(MaxDelayMs >= 0, "--max-delay-ms must be at least 0");
        Check(Queue >= 1, "--queue must be at least 1");
        Check(TimeoutMs >= 1, "--timeout-ms must be at least 1");
        Check(MaxRequestMb >= 1, "--max-request-mb must be at least 1");
        Check(DrainSeconds >= 0, "--drain-s must be at least 0");
        Check(ApiKey is null || ApiKey.Length > 0, "--api-key-file is empty");
        Check(!string.IsNullOrWhiteSpace(ModelName) && !ModelName.Contains('/'), "--model-name must be a non-empty name without '/'");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new RunSetupException(nameof(ServeSettings), message);
        }
    }
}
