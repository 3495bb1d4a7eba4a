// Every `serve` route, status and bad input in process (TestServer: the server's own middleware, routes and queue, no
// socket), filling what the real-Kestrel tests (ServeApiTests, ServeFaultTests, InferenceProtocolTests) leave out:
// readiness of each route before the model loads, the API key on every route and method, each refusal on both APIs
// (/v1 and /v2), the binary extension's own errors, and the metrics' semantics. Socket-level behaviour (413 from the
// declared length before the body arrives, truncated uploads, SIGTERM drain) stays with the Kestrel tests.
using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VcpNative.Serve;
using Xunit;

namespace VcpNative.Tests.Serve;

public class InProcessServeTests
{
    private const string Infer = "/v2/models/vcp-native/infer";

    private static readonly string[] HealthRoutes = ["/readyz", "/livez", "/v2/health/live", "/v2/health/ready"];

    /// <summary>Every GET route but health, and every POST route, with a body that would be valid.</summary>
    private static readonly string[] GuardedGets = ["/", "/metrics", "/v1/model", "/v2", "/v2/models/vcp-native", "/v2/models/vcp-native/ready"];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string InferJson(byte[] image, string extra = "") =>
        $$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["{{Convert.ToBase64String(image)}}"]}]{{extra}}}""";

    private static HttpContent PostBody(string route) =>
        route == Infer ? Json(InferJson(ServeServer.Png())) : ServeServer.ImageContent(ServeServer.Png());

    private static async Task<string> ErrorOf(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("error").GetString()!;
    }

    [Fact]
    public async Task BeforeTheModelLoadsModelRoutesAre503AndTheRestAnswer()
    {
        using var gate = new ManualResetEventSlim();
        await using var server = await ServeServer.StartLoadingAsync(gate, inProcess: true);
        var c = server.Client;
        foreach (var path in new[] { "/readyz", "/v2/health/ready", "/v1/model", "/v2/models/vcp-native", "/v2/models/vcp-native/ready" })
        {
            using var r = await c.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.ServiceUnavailable, $"{path}: {r.StatusCode}");
        }
        foreach (var path in new[] { "/v1/detect", Infer })
        {
            using var r = await c.PostAsync(path, PostBody(path));
            Assert.True(r.StatusCode == HttpStatusCode.ServiceUnavailable, $"{path}: {r.StatusCode}");
            Assert.Contains("loading", await ErrorOf(r), StringComparison.Ordinal);
        }
        foreach (var path in new[] { "/livez", "/v2/health/live", "/v2", "/", "/metrics" })
        {
            using var r = await c.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {r.StatusCode}");
        }
        gate.Set();
        Assert.Equal(0, await server.Host.Loading);
        foreach (var path in new[] { "/readyz", "/v2/health/ready", "/v2/models/vcp-native/ready" })
        {
            using var r = await c.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {r.StatusCode}");
        }
    }

    [Fact]
    public async Task DetectAnswersEachMapFormatAndTheOverlayOnlyWhenAsked()
    {
        await using var server = await ServeServer.StartAsync(inProcess: true);
        var png = ServeServer.Png(seed: 5);
        float? score = null;
        foreach (var (query, format) in new[] { ("", null), ("?map=none", null), ("?map=png", "png"), ("?map=npy&overlay=0", "npy"), ("?overlay=1", null) })
        {
            using var form = new MultipartFormDataContent { { ServeServer.ImageContent(png), "image", "x.png" } };
            using var r = await server.Client.PostAsync("/v1/detect" + query, query.Length % 2 == 0 ? form : ServeServer.ImageContent(png));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{query}: {text}");
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            // Raw body or multipart, with or without a map: the same image gives the same score (exact).
            score ??= root.GetProperty("score").GetSingle();
            Assert.Equal(score, root.GetProperty("score").GetSingle());
            Assert.Equal(format, root.TryGetProperty("map_format", out var f) ? f.GetString() : null);
            Assert.Equal(format is not null, root.TryGetProperty("map", out var map));
            if (format == "npy")
            {
                var npy = Convert.FromBase64String(map.GetString()!);
                Assert.Equal([0x93, .. "NUMPY"u8], npy[..6]);
                Assert.Equal(ServeServer.Size * ServeServer.Size * 4, npy.Length - (npy[8] | (npy[9] << 8)) - 10);
            }
            if (format == "png")
            {
                Assert.Equal(0x89, Convert.FromBase64String(map.GetString()!)[0]);
            }
            Assert.Equal(query.Contains("overlay=1", StringComparison.Ordinal), root.TryGetProperty("overlay", out _));
        }
    }

    [Fact]
    public async Task TheApiKeyGuardsEveryRouteAndMethodButHealthChecks()
    {
        await using var server = await ServeServer.StartAsync(new() { ApiKey = "k3y" }, inProcess: true);
        var c = server.Client;
        async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? key)
        {
            using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? PostBody(path) : null };
            if (key is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
            return await c.SendAsync(request);
        }
        var guarded = GuardedGets.Select(p => (HttpMethod.Get, p)).Concat([(HttpMethod.Post, "/v1/detect"), (HttpMethod.Post, Infer)]);
        foreach (var (method, path) in guarded)
        {
            foreach (var key in new[] { null, "", "k3yy", "K3Y", "k3" })
            {
                using var refused = await Send(method, path, key);
                Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with key '{key}': {refused.StatusCode}");
                Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
                Assert.Contains("API key", await ErrorOf(refused), StringComparison.Ordinal);
            }
            using var allowed = await Send(method, path, "k3y");
            Assert.True(allowed.StatusCode == HttpStatusCode.OK, $"{method} {path} with the key: {allowed.StatusCode}");
        }
        foreach (var path in HealthRoutes)
        {
            using var open = await Send(HttpMethod.Get, path, null);
            Assert.True(open.StatusCode == HttpStatusCode.OK, $"{path} without a key: {open.StatusCode}");
        }
        // Refusals are counted too, under the route they asked for.
        Assert.Contains("vcp_serve_requests_total{route=\"/v1/detect\",status=\"401\"} 5", await (await Send(HttpMethod.Get, "/metrics", "k3y")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    // A multipart body without a declared length is stopped by Kestrel's body limit (ServeFaultTests), which TestServer lacks.
    [Theory]
    [InlineData("/v1/detect", "raw", true)]
    [InlineData("/v1/detect", "raw", false)]
    [InlineData("/v1/detect", "multipart", true)]
    [InlineData(Infer, "raw", true)]
    [InlineData(Infer, "raw", false)]
    public async Task ABodyOverTheLimitIs413DeclaredOrNot(string path, string kind, bool declared)
    {
        await using var server = await ServeServer.StartAsync(new() { MaxRequestMb = 1 }, inProcess: true);
        var big = new byte[1024 * 1024 + 1];
        using HttpContent content = kind == "multipart"
            ? new MultipartFormDataContent { { ServeServer.ImageContent(big), "image", "big.png" } }
            : new StreamContent(new MemoryStream(big));
        if (kind == "raw")
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(path == Infer ? "application/json" : "image/png");
        }
        // Without a declared length the body arrives chunked and is refused once it passes the limit.
        if (declared)
        {
            await content.LoadIntoBufferAsync();
            Assert.NotNull(content.Headers.ContentLength);
        }
        else
        {
            content.Headers.ContentLength = null;
        }
        using var r = await server.Client.PostAsync(path, content);
        Assert.True(r.StatusCode == HttpStatusCode.RequestEntityTooLarge, $"{path} {kind} declared={declared}: {r.StatusCode}");
        Assert.Contains("--max-request-mb", await ErrorOf(r), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task ANonImageContentTypeIs415(string type)
    {
        await using var server = await ServeServer.StartAsync(inProcess: true);
        using var content = new ByteArrayContent(ServeServer.Png());
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var r = await server.Client.PostAsync("/v1/detect", content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        Assert.Contains(type, await ErrorOf(r), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UndecodableImagesAndBombsAre422OnBothApis()
    {
        await using var server = await ServeServer.StartAsync(inProcess: true);
        var c = server.Client;
        var cut = ServeServer.Png()[..40];
        foreach (var image in new[] { "GIF89a not supported"u8.ToArray(), cut, ServeFaultTests.DecompressionBomb() })
        {
            using var form = new MultipartFormDataContent { { ServeServer.ImageContent(image), "image", "x.png" } };
            foreach (var (path, content) in new (string, HttpContent)[] { ("/v1/detect", ServeServer.ImageContent(image)), ("/v1/detect", form), (Infer, Json(InferJson(image))) })
            {
                using var r = await c.PostAsync(path, content);
                Assert.True(r.StatusCode == HttpStatusCode.UnprocessableEntity, $"{path} ({image.Length} bytes): {r.StatusCode}");
                Assert.DoesNotContain('\n', await ErrorOf(r));
            }
        }
        // Nothing bad was computed, and the server still answers.
        Assert.Contains("vcp_serve_images_computed_total 0", await c.GetStringAsync("/metrics"), StringComparison.Ordinal);
        using var ok = await c.PostAsync("/v1/detect", ServeServer.ImageContent(ServeServer.Png()));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task MalformedMultipartBodiesAre400()
    {
        await using var server = await ServeServer.StartAsync(inProcess: true);
        foreach (var (type, body) in new[]
        {
            ("multipart/form-data", "--b\r\n\r\nx"),                                                     // no boundary parameter
            ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc"), // never closed
            ("multipart/form-data; boundary=b", "not multipart at all"),
            ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"other\"; filename=\"x.png\"\r\n\r\nabc\r\n--b--\r\n"), // no 'image' field
        })
        {
            using var content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
            content.Headers.TryAddWithoutValidation("Content-Type", type);
            using var r = await server.Client.PostAsync("/v1/detect", content);
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{type} / {body}: {r.StatusCode}");
            await ErrorOf(r);
        }
    }

    [Fact]
    public async Task BinaryExtensionErrorsAre400AndAllBinaryOutputsFollowTheJson()
    {
        await using var server = await ServeServer.StartAsync(inProcess: true);
        var c = server.Client;
        var png = ServeServer.Png(seed: 9);
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{png.Length}}}}}],"parameters":{"binary_data_output":true}}""");
        HttpContent Binary(byte[] json, byte[] tail, string? length)
        {
            var content = new ByteArrayContent([.. json, .. tail]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (length is not null)
            {
                content.Headers.Add(InferenceProtocol.HeaderLength, length);
            }
            return content;
        }
        using (var r = await c.PostAsync(Infer, Binary(header, png, $"{header.Length}")))
        {
            var bytes = await r.Content.ReadAsByteArrayAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, Encoding.UTF8.GetString(bytes));
            var jsonLength = int.Parse(r.Headers.GetValues(InferenceProtocol.HeaderLength).Single());
            using var doc = JsonDocument.Parse(bytes.AsMemory(0, jsonLength));
            var outputs = doc.RootElement.GetProperty("outputs");
            // binary_data_output: score (4 bytes FP32) then anomalous (1 byte BOOL), in order, after the JSON.
            Assert.Equal([4, 1], outputs.EnumerateArray().Select(o => o.GetProperty("parameters").GetProperty("binary_data_size").GetInt32()));
            Assert.Equal(jsonLength + 5, bytes.Length);
            Assert.Equal(r.Content.Headers.ContentLength, bytes.Length);
            var score = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(jsonLength));
            Assert.Equal(score > 0.5 ? 1 : 0, bytes[jsonLength + 4]);
        }
        foreach (var (tail, length, message) in new[]
        {
            (png, "twelve", InferenceProtocol.HeaderLength),
            (png, $"{header.Length + png.Length + 1}", InferenceProtocol.HeaderLength),
            (png[..(png.Length / 2)], $"{header.Length}", "binary_data_size"),       // a truncated binary part
            (png, $"{header.Length - 1}", "not a valid inference request"),            // the JSON cut short
        })
        {
            using var r = await c.PostAsync(Infer, Binary(header, tail, length));
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{length}: {r.StatusCode}");
            Assert.Contains(message, await ErrorOf(r), StringComparison.Ordinal);
        }
        var negative = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":-3}}]}""");
        using var bad = await c.PostAsync(Infer, Binary(negative, png, $"{negative.Length}"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("invalid binary_data_size", await ErrorOf(bad), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAThresholdAnomalousIsLeftOutOrRefusedWhenAsked()
    {
        await using var server = await ServeServer.StartAsync(open: () => AnomalyDetector.Open(ServeServer.Clip, ServeServer.Head, ServeServer.Options with { Threshold = null }),
            inProcess: true);
        var png = ServeServer.Png();
        using var plain = await server.Client.PostAsync(Infer, Json(InferJson(png)));
        using var doc = JsonDocument.Parse(await plain.Content.ReadAsStringAsync());
        Assert.Equal(["score"], doc.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        using var asked = await server.Client.PostAsync(Infer, Json(InferJson(png, ""","outputs":[{"name":"anomalous"}]""")));
        Assert.Equal(HttpStatusCode.BadRequest, asked.StatusCode);
        Assert.Contains("--threshold", await ErrorOf(asked), StringComparison.Ordinal);
        using var detect = JsonDocument.Parse(await (await server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(png))).Content.ReadAsStringAsync());
        Assert.False(detect.RootElement.TryGetProperty("anomalous", out _));
        Assert.False(detect.RootElement.TryGetProperty("threshold", out _));
    }

    [Fact]
    public async Task AnUnknownModelIs404OnEveryModelRoute()
    {
        await using var server = await ServeServer.StartAsync(inProcess: true);
        foreach (var path in new[] { "/v2/models/other", "/v2/models/other/ready" })
        {
            using var r = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.Contains("'other'", await ErrorOf(r), StringComparison.Ordinal);
        }
        using var infer = await server.Client.PostAsync("/v2/models/other/infer", Json(InferJson(ServeServer.Png())));
        Assert.Equal(HttpStatusCode.NotFound, infer.StatusCode);
        using var wrongMethod = await server.Client.GetAsync("/v1/detect");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
    }

    [Fact]
    public async Task TheOpenInferenceProtocolGets503WithRetryAfterWhenFullAnd504WhenLate()
    {
        await using var server = await ServeServer.StartAsync(new() { Queue = 1, MaxBatch = 1, TimeoutMs = 1500 }, inProcess: true);
        server.Queue.Pause();
        var waiting = server.Client.PostAsync(Infer, Json(InferJson(ServeServer.Png())));
        await server.WaitForQueueDepth(1);
        using (var refused = await server.Client.PostAsync(Infer, Json(InferJson(ServeServer.Png()))))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            Assert.Contains("queue is full", await ErrorOf(refused), StringComparison.Ordinal);
        }
        using (var late = await waiting)
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, late.StatusCode);
            Assert.Contains("--timeout-ms", await ErrorOf(late), StringComparison.Ordinal);
        }
        server.Queue.Resume();
        await server.WaitForEmptyQueue();   // the worker drops the expired request
        using var ok = await server.Client.PostAsync(Infer, Json(InferJson(ServeServer.Png())));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task AClientThatLeavesMidComputeIsDroppedAndCountedAs499()
    {
        await using var server = await ServeServer.StartAsync(inProcess: true);
        server.Queue.Pause();
        using (var leaving = new CancellationTokenSource())
        {
            var request = server.Client.PostAsync(Infer, Json(InferJson(ServeServer.Png())), leaving.Token);
            await server.WaitForQueueDepth(1);
            leaving.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }
        server.Queue.Resume();
        var metrics = "";
        for (var waited = 0; !metrics.Contains("status=\"499\"", StringComparison.Ordinal); waited += 20)
        {
            Assert.True(waited < 10_000, "the abandoned request was never counted:\n" + metrics);
            await Task.Delay(20);
            metrics = await server.Client.GetStringAsync("/metrics");
        }
        Assert.Contains($"vcp_serve_requests_total{{route=\"{Infer.Replace("vcp-native", "{name}", StringComparison.Ordinal)}\",status=\"499\"}} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("vcp_serve_images_computed_total 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricsCountRoutesStatusesBatchesAndImages()
    {
        await using var server = await ServeServer.StartAsync(new() { MaxBatch = 4, MaxDelayMs = 200 }, inProcess: true);
        var c = server.Client;
        server.Queue.Pause();
        var four = Enumerable.Range(0, 4).Select(i => c.PostAsync("/v1/detect", ServeServer.ImageContent(ServeServer.Png(seed: i)))).ToArray();
        await server.WaitForQueueDepth(4);
        Assert.Contains("vcp_serve_queue_depth 4", await c.GetStringAsync("/metrics"), StringComparison.Ordinal);
        server.Queue.Resume();
        foreach (var r in four)
        {
            using var done = await r;
            Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        }
        using (await c.PostAsync(Infer, Json(InferJson(ServeServer.Png())))) { }
        using (await c.GetAsync("/nowhere")) { }
        using var response = await c.GetAsync("/metrics");
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var metrics = await response.Content.ReadAsStringAsync();
        foreach (var line in new[]
        {
            "# TYPE vcp_serve_requests_total counter",
            "vcp_serve_requests_total{route=\"/v1/detect\",status=\"200\"} 4",
            "vcp_serve_requests_total{route=\"/v2/models/{name}/infer\",status=\"200\"} 1",
            "vcp_serve_requests_total{route=\"unmatched\",status=\"404\"} 1",
            "# TYPE vcp_serve_request_duration_seconds histogram",
            "vcp_serve_request_duration_seconds_count{route=\"/v1/detect\"} 4",
            "vcp_serve_request_duration_seconds_bucket{route=\"/v1/detect\",le=\"+Inf\"} 4",
            "# TYPE vcp_serve_batch_size histogram",
            // One batch of four, then one of one: the le="2" bucket holds the single one only.
            "vcp_serve_batch_size_bucket{le=\"2\"} 1",
            "vcp_serve_batch_size_bucket{le=\"4\"} 2",
            "vcp_serve_batch_size_sum 5",
            "vcp_serve_batch_size_count 2",
            "vcp_serve_images_computed_total 5",
            "# TYPE vcp_serve_queue_depth gauge",
            "vcp_serve_queue_depth 0",
        })
        {
            Assert.True(metrics.Contains(line + "\n", StringComparison.Ordinal), $"missing '{line}' in:\n{metrics}");
        }
        // A registry of the server's own: nothing from the process-wide default registry (process_*, dotnet_*).
        Assert.DoesNotContain("process_", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet_", metrics, StringComparison.Ordinal);
    }
}
