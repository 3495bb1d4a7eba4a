// `serve` routes on a real Kestrel: /v1/detect against the library's own result, model info, page, metrics, health.
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.Serve;

public class ServeApiTests
{
    private static float LibraryScore(byte[] png, out float[] map)
    {
        using var detector = AnomalyDetector.Open(ServeServer.Clip, ServeServer.Head, ServeServer.Options);
        var r = detector.Detect(png);
        map = r.Map.ToArray();
        return r.Score;
    }

    [Fact]
    public async Task DetectAnswersTheLibrarysScoreMapAndOverlayForRawAndMultipartBodies()
    {
        await using var server = await ServeServer.StartAsync();
        var png = ServeServer.Png();
        var expected = LibraryScore(png, out var expectedMap);

        using var raw = await server.Client.PostAsync("/v1/detect?map=npy&overlay=1", ServeServer.ImageContent(png));
        var text = await raw.Content.ReadAsStringAsync();
        Assert.True(raw.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        // Same code path and inputs as the library call: batching a single request changes nothing (exact).
        Assert.Equal(expected, root.GetProperty("score").GetSingle());
        Assert.Equal(expected > 0.5, root.GetProperty("anomalous").GetBoolean());
        Assert.Equal(0.5, root.GetProperty("threshold").GetDouble());
        Assert.Equal("vcp", root.GetProperty("method").GetString());
        Assert.Equal(ServeServer.Size, root.GetProperty("image_size").GetInt32());
        Assert.Equal(40, root.GetProperty("original_width").GetInt32());
        Assert.Equal(30, root.GetProperty("original_height").GetInt32());
        Assert.True(root.GetProperty("timing").GetProperty("total_ms").GetDouble() > 0);
        Assert.Equal("npy", root.GetProperty("map_format").GetString());
        var npy = Convert.FromBase64String(root.GetProperty("map").GetString()!);
        var map = new float[ServeServer.Size * ServeServer.Size];
        Buffer.BlockCopy(npy, npy.Length - map.Length * 4, map, 0, map.Length * 4);
        Assert.Equal(expectedMap, map);
        var overlay = ImageDecoder.Decode(Convert.FromBase64String(root.GetProperty("overlay").GetString()!), "overlay");
        Assert.Equal((40, 30), (overlay.Width, overlay.Height)); // the upload's own size, as infer's overlays

        using var form = new MultipartFormDataContent { { ServeServer.ImageContent(png), "image", "part.png" } };
        using var multipart = await server.Client.PostAsync("/v1/detect?map=png", form);
        using var mjson = JsonDocument.Parse(await multipart.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, multipart.StatusCode);
        Assert.Equal(expected, mjson.RootElement.GetProperty("score").GetSingle());
        var mapPng = ImageDecoder.Decode(Convert.FromBase64String(mjson.RootElement.GetProperty("map").GetString()!), "map");
        Assert.Equal(ServeServer.Size, mapPng.Width);
        Assert.False(mjson.RootElement.TryGetProperty("overlay", out _));
    }

    [Fact]
    public async Task ModelInfoHealthPageAndMetricsAnswer()
    {
        await using var server = await ServeServer.StartAsync();
        var c = server.Client;
        using var model = JsonDocument.Parse(await c.GetStringAsync("/v1/model"));
        Assert.Equal("vcp", model.RootElement.GetProperty("method").GetString());
        Assert.Equal(64, model.RootElement.GetProperty("head_sha256").GetString()!.Length);
        Assert.True(model.RootElement.GetProperty("clip").GetProperty("patch_size").GetInt32() > 0);
        Assert.Equal(0.5, model.RootElement.GetProperty("threshold").GetDouble());

        foreach (var path in new[] { "/readyz", "/livez", "/v2/health/live", "/v2/health/ready", "/v2/models/vcp-native/ready" })
        {
            using var r = await c.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, path);
        }
        var page = await c.GetStringAsync("/");
        Assert.Contains("vcp-native inspection", page, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", page, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", page, StringComparison.Ordinal);

        using (await c.PostAsync("/v1/detect", ServeServer.ImageContent(ServeServer.Png()))) { }
        using (await c.PostAsync("/v1/detect", ServeServer.ImageContent([1, 2, 3]))) { }
        var metrics = await c.GetStringAsync("/metrics");
        Assert.Contains("vcp_serve_requests_total{route=\"/v1/detect\",status=\"200\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("vcp_serve_requests_total{route=\"/v1/detect\",status=\"422\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("vcp_serve_request_duration_seconds_count{route=\"/v1/detect\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("vcp_serve_batch_size_count 1", metrics, StringComparison.Ordinal);
        Assert.Contains("vcp_serve_images_computed_total 1", metrics, StringComparison.Ordinal);
        Assert.Contains("vcp_serve_queue_depth 0", metrics, StringComparison.Ordinal);
        // One structured log line per request, with the batch size where one was computed.
        var lines = server.Log.ToString().Split('\n').Where(l => l.StartsWith('{')).ToArray();
        Assert.Contains(lines, l => l.Contains("\"route\":\"/v1/detect\",\"status\":200,", StringComparison.Ordinal) && l.Contains("\"batch\":1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"status\":422", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ApiKeyGuardsEveryRouteButHealthChecks()
    {
        await using var server = await ServeServer.StartAsync(new() { ApiKey = "s3cret" });
        var c = server.Client;
        foreach (var path in new[] { "/v1/model", "/metrics", "/", "/v2/models/vcp-native" })
        {
            using var none = await c.GetAsync(path);
            Assert.True(none.StatusCode == HttpStatusCode.Unauthorized, path);
        }
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/model") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "s3cres") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.SendAsync(wrong)).StatusCode);
        using var right = new HttpRequestMessage(HttpMethod.Get, "/v1/model") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "s3cret") } };
        Assert.Equal(HttpStatusCode.OK, (await c.SendAsync(right)).StatusCode);
        foreach (var path in new[] { "/readyz", "/v2/health/live", "/v2/health/ready" })
        {
            using var health = await c.GetAsync(path);
            Assert.True(health.StatusCode == HttpStatusCode.OK, path);
        }
    }

    [Fact]
    public async Task ReadinessIs503UntilTheModelHasLoaded()
    {
        using var gate = new ManualResetEventSlim();
        await using var server = await ServeServer.StartLoadingAsync(gate);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(ServeServer.Png()))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/live")).StatusCode);
        gate.Set();
        Assert.Equal(0, await server.Host.Loading);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task AModelThatFailsToLoadStopsTheServerWithExitCode1()
    {
        var server = await ServeServer.StartAsync(open: () => AnomalyDetector.Open(ServeServer.Clip, "/no/such/head.pth", ServeServer.Options), waitForModel: false);
        Assert.Equal(1, await server.Host.WaitForShutdownAsync());
        Assert.Contains("vcp-native: error:", server.Log.ToString(), StringComparison.Ordinal);
        await server.DisposeAsync();
    }
}
