// The web server of `vcp-native serve`: Kestrel with minimal-API routes, API-key check, one log line and metrics per
// request; the model loads in the background after the port is open (readiness is 503 until it has).
using System.Diagnostics;
using System.Net;
using VcpNative.Cli;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace VcpNative.Serve;

/// <summary>A running server: started by <see cref="StartAsync"/>, stopped by SIGTERM or <see cref="StopAsync"/>.</summary>
public sealed class ServeHost : IAsyncDisposable
{
    /// <summary>HttpContext.Items key of the batch size a request was computed in (for its log line).</summary>
    public const string BatchSizeItem = "vcp.batch";
    /// <summary>HttpContext.Items key of the one-line error of a request that failed unexpectedly (for its log line).</summary>
    public const string ErrorItem = "vcp.error";

    private static readonly string[] OpenPaths = ["/readyz", "/livez", "/v2/health/live", "/v2/health/ready"];

    private readonly WebApplication app;
    private readonly ServeState state;
    private readonly TextWriter log;

    private ServeHost(WebApplication app, ServeState state, TextWriter log, Task<int> loading)
    {
        this.app = app;
        this.state = state;
        this.log = log;
        Loading = loading;
    }

    /// <summary>The bound address, e.g. http://127.0.0.1:8080 (the real port when 0 was asked).</summary>
    public Uri Address => new(Server.Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>The HTTP server: Kestrel, or what <c>configureWebHost</c> put in its place (tests: an in-memory TestServer).</summary>
    public IServer Server => app.Services.GetRequiredService<IServer>();

    /// <summary>Finishes when the model has loaded (0) or failed to (1, the error logged, the server stopping).</summary>
    public Task<int> Loading { get; }

    /// <summary>The routes' shared state (metrics, the model once loaded).</summary>
    public ServeState State => state;

    /// <summary>
    /// Binds, starts answering (503 on model routes), then opens the model with <paramref name="open"/> in the background.
    /// <paramref name="configureWebHost"/> runs after Kestrel is set up (tests replace the server with an in-memory one).
    /// </summary>
    public static async Task<ServeHost> StartAsync(ServeSettings settings, Func<AnomalyDetector> open, string headPath, TextWriter log,
        Action<IWebHostBuilder>? configureWebHost = null)
    {
        settings.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(settings.DrainSeconds));
        builder.WebHost.UseKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = settings.MaxRequestBytes;
            k.AddServerHeader = false;
            if (settings.Host == "localhost")
            {
                k.ListenLocalhost(settings.Port);
            }
            else
            {
                k.Listen(IPAddress.TryParse(settings.Host, out var ip) ? ip : throw new RunSetupException(nameof(ServeSettings.Host), $"--host '{settings.Host}' is not an IP address or localhost"), settings.Port);
            }
        });
        configureWebHost?.Invoke(builder.WebHost);
        var app = builder.Build();
        var state = new ServeState(settings, new ServeMetrics());
        Configure(app, state, log);
        await app.StartAsync();
        var loading = Task.Run(() => Load(app, state, open, headPath, log));
        return new ServeHost(app, state, log, loading);
    }

    /// <summary>Waits for SIGTERM/Ctrl-C (or <see cref="StopAsync"/>): then drains the queue within --drain-s. 0 when all went well.</summary>
    public async Task<int> WaitForShutdownAsync()
    {
        await app.WaitForShutdownAsync();
        return await Loading.ConfigureAwait(false);
    }

    /// <summary>Stops accepting, lets queued and running requests finish (within --drain-s), frees the model.</summary>
    public Task StopAsync() => app.StopAsync();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await Loading.ConfigureAwait(false);
        if (state.Loaded is { } loaded)
        {
            await loaded.Queue.DisposeAsync();
            loaded.Detector.Dispose();
        }
        await app.DisposeAsync();
    }

    private static int Load(WebApplication app, ServeState state, Func<AnomalyDetector> open, string headPath, TextWriter log)
    {
        try
        {
            var started = Stopwatch.GetTimestamp();
            var detector = open();
            string sha;
            using (var head = File.OpenRead(headPath))
            {
                sha = Convert.ToHexStringLower(SHA256.HashData(head));
            }
            state.Publish(new LoadedService(detector, new DetectionQueue(detector, state.Settings, state.Metrics), sha));
            log.WriteLine($"serve: model loaded ({detector.Method}, {detector.ImageSize} px) in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
            return ExitCodes.Ok;
        }
        catch (Exception e)
        {
            log.WriteLine($"vcp-native: error: {ErrorText.OneLine(e)}");
            _ = app.StopAsync();
            return ExitCodes.Failure;
        }
    }

    private static void Configure(WebApplication app, ServeState state, TextWriter log)
    {
        // Routing first, so a request refused before its handler (401) is still counted and logged under its route.
        app.UseRouting();
        app.Use((context, next) => Observe(context, next, state, log));
        if (state.Settings.ApiKey is { } key)
        {
            var expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));
            app.Use((context, next) => Authorize(context, next, expected));
        }
        Map(app, "GET", "/", (c, _) => WebPage.WriteAsync(c), state);
        Map(app, "GET", "/livez", (c, _) => Task.CompletedTask, state);
        Map(app, "GET", "/readyz", (c, s) => Readiness(c, s), state);
        Map(app, "GET", "/metrics", (c, s) => Metrics(c, s), state);
        Map(app, "POST", "/v1/detect", PlainApi.DetectAsync, state);
        Map(app, "GET", "/v1/model", PlainApi.ModelAsync, state);
        Map(app, "GET", "/v2", InferenceProtocol.ServerMetadataAsync, state);
        Map(app, "GET", "/v2/health/live", (c, _) => Task.CompletedTask, state);
        Map(app, "GET", "/v2/health/ready", (c, s) => Readiness(c, s), state);
        Map(app, "GET", "/v2/models/{name}", InferenceProtocol.ModelMetadataAsync, state);
        Map(app, "GET", "/v2/models/{name}/ready", InferenceProtocol.ModelReadyAsync, state);
        Map(app, "POST", "/v2/models/{name}/infer", InferenceProtocol.InferAsync, state);
    }

    /// <summary>One route; a <see cref="ServeRequestException"/> becomes its status and {"error": "..."}.</summary>
    private static void Map(WebApplication app, string method, string pattern, Func<HttpContext, ServeState, Task> handler, ServeState state) =>
        app.MapMethods(pattern, [method], (RequestDelegate)(async context =>
        {
            try
            {
                await handler(context, state);
            }
            catch (ServeRequestException e) when (!context.Response.HasStarted)
            {
                await WriteErrorAsync(context, e.StatusCode, e.Message);
            }
        }));

    private static Task Readiness(HttpContext context, ServeState state)
    {
        context.Response.StatusCode = state.Loaded is null ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        return Task.CompletedTask;
    }

    private static Task Metrics(HttpContext context, ServeState state)
    {
        context.Response.ContentType = ServeMetrics.ContentType;
        return state.Metrics.WriteAsync(context.Response.Body, context.RequestAborted);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        ServeState.WriteJsonAsync(context, new ErrorBody(message), ServeJson.Default.ErrorBody, status);

    private static Task Authorize(HttpContext context, RequestDelegate next, byte[] expected)
    {
        if (OpenPaths.Contains(context.Request.Path.Value))
        {
            return next(context);
        }
        var header = context.Request.Headers.Authorization.ToString();
        var given = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : "";
        // Hashing both sides gives equal lengths, so the comparison's time says nothing about the key.
        if (CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
        {
            return next(context);
        }
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "missing or wrong API key (Authorization: Bearer <key>)");
    }

    /// <summary>Metrics and one JSON log line per request; an unexpected failure is 500, or an aborted connection once the answer has started.</summary>
    private static async Task Observe(HttpContext context, RequestDelegate next, ServeState state, TextWriter log)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left: nobody reads an answer.
        }
        catch (Exception e)
        {
            // The operator sees why in the log line; the client gets the same one line in the 500's body.
            context.Items[ErrorItem] = ErrorText.OneLine(e);
            if (context.Response.HasStarted)
            {
                // A half-written answer must not look complete: drop the connection instead of ending it cleanly.
                context.Abort();
            }
            else
            {
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, ErrorText.OneLine(e));
            }
        }
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var status = context.RequestAborted.IsCancellationRequested ? 499 : context.Response.StatusCode;
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
        state.Metrics.ObserveRequest(route, status, ms / 1000);
        WriteLogLine(log, context, route, status, ms);
    }

    private static void WriteLogLine(TextWriter log, HttpContext context, string route, int status, double ms)
    {
        var line = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(line))
        {
            w.WriteStartObject();
            w.WriteString("id", context.TraceIdentifier);
            w.WriteString("method", context.Request.Method);
            w.WriteString("route", route);
            w.WriteNumber("status", status);
            w.WriteNumber("ms", Math.Round(ms, 2));
            if (context.Items.TryGetValue(BatchSizeItem, out var batch) && batch is int b)
            {
                w.WriteNumber("batch", b);
            }
            if (context.Items.TryGetValue(ErrorItem, out var error) && error is string message)
            {
                w.WriteString("error", message);
            }
            w.WriteEndObject();
        }
        lock (log)
        {
            log.WriteLine(Encoding.UTF8.GetString(line.WrittenSpan));
        }
    }
}
