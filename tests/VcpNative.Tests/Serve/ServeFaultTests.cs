// `serve` under bad input and bad clients: each failure gets its own status, and the server stays up and correct.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace VcpNative.Tests.Serve;

public class ServeFaultTests
{
    /// <summary>A valid PNG signature and IHDR announcing 100000 x 100000 RGB pixels, and nothing else: refused from the header.</summary>
    internal static byte[] DecompressionBomb()
    {
        var b = new byte[8 + 25];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(b, 0);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), 13);
        "IHDR"u8.CopyTo(b.AsSpan(12));
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(16), 100_000);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(20), 100_000);
        b[24] = 8;
        b[25] = 2;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(29), Crc32(b.AsSpan(12, 17)));
        return b;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var x in data)
        {
            crc ^= x;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }

    private static async Task<(HttpStatusCode Status, string Error)> Post(HttpClient c, string path, HttpContent content)
    {
        using var r = await c.PostAsync(path, content);
        var text = await r.Content.ReadAsStringAsync();
        var error = r.IsSuccessStatusCode ? "" : JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
        return (r.StatusCode, error);
    }

    [Fact]
    public async Task BadInputsGetTheirOwnStatusAndTheServerStaysCorrect()
    {
        await using var server = await ServeServer.StartAsync(new() { MaxRequestMb = 1 });
        var c = server.Client;
        var (status, error) = await Post(c, "/v1/detect", ServeServer.ImageContent("not an image at all"u8.ToArray()));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.DoesNotContain('\n', error);
        (status, error) = await Post(c, "/v1/detect", ServeServer.ImageContent(DecompressionBomb()));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("100000x100000", error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(c, "/v1/detect", ServeServer.ImageContent([]))).Status);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await Post(c, "/v1/detect", new StringContent("{}", Encoding.UTF8, "application/json"))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(c, "/v1/detect?map=jpeg", ServeServer.ImageContent(ServeServer.Png()))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(c, "/v1/detect?overlay=yes", ServeServer.ImageContent(ServeServer.Png()))).Status);
        // Declared too large: 413 from the Content-Length, before the body is read (the client sends only 1 KiB of it).
        var declared = await RawExchange(server, "Content-Type: image/png\r\nContent-Length: 2097152", new byte[1024]);
        Assert.StartsWith("HTTP/1.1 413", declared, StringComparison.Ordinal);
        Assert.Contains("--max-request-mb", declared, StringComparison.Ordinal);
        // Chunked (no Content-Length): 413 once the body passes the limit, though the body has not ended.
        var chunk = new byte[1024 * 1024 + 4096];
        var chunked = await RawExchange(server, "Content-Type: image/png\r\nTransfer-Encoding: chunked",
            [.. Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"), .. chunk, .. "\r\n"u8]);
        Assert.StartsWith("HTTP/1.1 413", chunked, StringComparison.Ordinal);
        var malformed = new ByteArrayContent("--xyz\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc"u8.ToArray());
        malformed.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=xyz");
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(c, "/v1/detect", malformed)).Status);
        using var noImage = new MultipartFormDataContent { { new StringContent("x"), "other" } };
        (status, error) = await Post(c, "/v1/detect", noImage);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'image'", error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/etc/passwd")).StatusCode);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await Post(c, "/v1/detect", ServeServer.ImageContent(ServeServer.Png(seed: i)))).Status);
        }
    }

    /// <summary>Sends a POST /v1/detect head and part of a body over a raw socket, then reads the answer without ending the body.</summary>
    private static async Task<string> RawExchange(ServeServer server, string headers, byte[] body)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(server.Host.Address.Host, server.Host.Address.Port);
        var stream = socket.GetStream();
        var send = Task.Run(async () =>
        {
            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /v1/detect HTTP/1.1\r\nHost: x\r\n{headers}\r\n\r\n"));
                await stream.WriteAsync(body);
            }
            catch (IOException)
            {
                // The server may answer and close before it has taken the whole part.
            }
        });
        var answer = new StringBuilder();
        var buffer = new byte[8192];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!answer.ToString().Contains("\"error\"", StringComparison.Ordinal) || !answer.ToString().TrimEnd().EndsWith('}'))
        {
            var n = await stream.ReadAsync(buffer, limit.Token);
            if (n == 0)
            {
                break;
            }
            answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        socket.Client.Shutdown(SocketShutdown.Both);
        await send;
        return answer.ToString();
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfterAndALateRequest504()
    {
        await using var server = await ServeServer.StartAsync(new() { Queue = 2, MaxBatch = 1, TimeoutMs = 3000 });
        server.Queue.Pause();
        var png = ServeServer.Png();
        var waiting = Enumerable.Range(0, 2).Select(_ => server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(png))).ToArray();
        await server.WaitForQueueDepth(2);
        using var refused = await server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(png));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        // The two queued requests pass their 3 s deadline while the worker is paused.
        foreach (var w in waiting)
        {
            using var r = await w;
            Assert.Equal(HttpStatusCode.GatewayTimeout, r.StatusCode);
        }
        server.Queue.Resume();
        await server.WaitForEmptyQueue();   // the worker drops the two expired requests
        using var after = await server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(png));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        // The timed-out requests were dropped before computing: only the last one ran.
        Assert.Contains("vcp_serve_images_computed_total 1\n", await server.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientThatLeavesIsDroppedBeforeItIsComputed()
    {
        await using var server = await ServeServer.StartAsync();
        server.Queue.Pause();
        using (var leaving = new CancellationTokenSource())
        {
            var request = server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(ServeServer.Png()), leaving.Token);
            await server.WaitForQueueDepth(1);
            leaving.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }
        await Task.Delay(200);
        server.Queue.Resume();
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(ServeServer.Png()))).StatusCode);
        Assert.Contains("vcp_serve_images_computed_total 1\n", await server.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TruncatedAndAbandonedUploadsLeaveTheServerUp()
    {
        await using var server = await ServeServer.StartAsync();
        var png = ServeServer.Png();
        for (var i = 0; i < 5; i++)
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(server.Host.Address.Host, server.Host.Address.Port);
            var stream = socket.GetStream();
            var head = $"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {png.Length}\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(png.AsMemory(0, png.Length / 2));
            if (i % 2 == 0)
            {
                socket.Client.Shutdown(SocketShutdown.Send);   // the body ends early: a truncated upload
                var buffer = new byte[4096];
                var answer = "";
                try
                {
                    answer = Encoding.ASCII.GetString(buffer, 0, await stream.ReadAsync(buffer));
                }
                catch (IOException)
                {
                    // Kestrel may reset the connection instead of answering: fine, as long as it is never a 200.
                }
                Assert.DoesNotContain("200 OK", answer, StringComparison.Ordinal);
            }
        }
        using var ok = await server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(png));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task StoppingFinishesQueuedRequestsFirst()
    {
        var server = await ServeServer.StartAsync(new() { DrainSeconds = 20 });
        server.Queue.Pause();
        var queued = Enumerable.Range(0, 3).Select(i => server.Client.PostAsync("/v1/detect", ServeServer.ImageContent(ServeServer.Png(seed: i)))).ToArray();
        await server.WaitForQueueDepth(3);
        var stopping = server.Host.StopAsync();
        await Task.Delay(200);
        server.Queue.Resume();
        foreach (var q in queued)
        {
            using var r = await q;
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        await stopping;
        Assert.Equal(0, await server.Host.WaitForShutdownAsync());
        await server.DisposeAsync();
    }
}
