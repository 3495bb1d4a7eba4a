// A `serve` server over the tiny test model, with an HttpClient pointed at it: a real Kestrel on 127.0.0.1 (port 0), or
// in process (TestServer from Microsoft.AspNetCore.TestHost: no socket, the same middleware and routes).
using System.Net.Http.Headers;
using Microsoft.AspNetCore.TestHost;
using VcpNative.Serve;
using VcpNative.IO.Images;
using VcpNative.Tests.Api;
using Xunit;

namespace VcpNative.Tests.Serve;

internal sealed class ServeServer : IAsyncDisposable
{
    public const int Size = 28;
    public static readonly string Clip = Fixtures.Path("clip", "tiny_clip.pt");
    public static readonly string Head = Fixtures.Path("vcp", "vcp_head.pth");
    public static readonly DetectorOptions Options = new() { ImageSize = Size, Threshold = 0.5, Threads = 1 };

    private ServeServer(ServeHost host, StringWriter log, bool inProcess)
    {
        Host = host;
        Log = log;
        Client = inProcess ? ((TestServer)host.Server).CreateClient() : new HttpClient { BaseAddress = host.Address };
        Client.Timeout = TimeSpan.FromSeconds(60);
    }

    public ServeHost Host { get; }
    public StringWriter Log { get; }
    public HttpClient Client { get; }
    public DetectionQueue Queue => Host.State.Loaded!.Queue;

    /// <summary>Starts a server and, unless <paramref name="waitForModel"/> is false, waits until the model has loaded.</summary>
    public static async Task<ServeServer> StartAsync(ServeSettings? settings = null, Func<AnomalyDetector>? open = null, bool waitForModel = true,
        bool inProcess = false)
    {
        var log = new StringWriter();
        var host = await ServeHost.StartAsync((settings ?? new ServeSettings()) with { Port = 0 }, open ?? (() => AnomalyDetector.Open(Clip, Head, Options)),
            Head, TextWriter.Synchronized(log), inProcess ? b => b.UseTestServer() : null);
        if (waitForModel)
        {
            Assert.Equal(0, await host.Loading);
        }
        return new ServeServer(host, log, inProcess);
    }

    /// <summary>A server whose model loads only once <paramref name="gate"/> is set: the routes answer while it loads.</summary>
    public static Task<ServeServer> StartLoadingAsync(ManualResetEventSlim gate, bool inProcess = false) =>
        StartAsync(open: () =>
        {
            gate.Wait();
            return AnomalyDetector.Open(Clip, Head, Options);
        }, waitForModel: false, inProcess: inProcess);

    public static byte[] Png(int w = 40, int h = 30, int seed = 1) => PngEncoder.Encode(AnomalyDetectorTests.Pattern(w, h, seed));

    public static ByteArrayContent ImageContent(byte[] bytes, string type = "image/png")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    /// <summary>Waits (30 s at most) until <paramref name="holds"/> is true of the queue depth, e.g. requests queued behind a paused worker.</summary>
    public async Task WaitForQueue(Func<int, bool> holds, string what)
    {
        for (var waited = 0; !holds(Queue.Depth); waited += 10)
        {
            Assert.True(waited < 30_000, $"the queue never {what} (depth {Queue.Depth})");
            await Task.Delay(10);
        }
    }

    /// <summary>Waits until <paramref name="depth"/> requests are queued.</summary>
    public Task WaitForQueueDepth(int depth) => WaitForQueue(d => d >= depth, $"held {depth} requests");

    /// <summary>Waits until the worker has taken (or dropped) every queued request.</summary>
    public Task WaitForEmptyQueue() => WaitForQueue(d => d == 0, "emptied");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}
