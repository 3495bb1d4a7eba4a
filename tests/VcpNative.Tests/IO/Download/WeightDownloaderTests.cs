// Download tests against a local HTTP server on 127.0.0.1 (Range support, truncation, checksum mismatch).
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using VcpNative.IO.Download;
using Xunit;

namespace VcpNative.Tests.IO.Download;

public sealed class WeightDownloaderTests : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly byte[] payload;
    private readonly string sha;
    private readonly TempDirectory temp = new("download");
    private readonly CancellationTokenSource stop = new();
    private int truncateNextAt = -1;

    public WeightDownloaderTests()
    {
        payload = new byte[300_000];
        new System.Random(3).NextBytes(payload);
        sha = Convert.ToHexStringLower(SHA256.HashData(payload));
        Port = FreePort();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        _ = Task.Run(Serve);
    }

    private int Port { get; }

    private string Url => $"http://127.0.0.1:{Port}/models/{sha}/model.pt";

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private async Task Serve()
    {
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await listener.GetContextAsync();
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            var start = 0;
            var range = ctx.Request.Headers["Range"];
            if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                start = int.Parse(range[6..].TrimEnd('-'));
                ctx.Response.StatusCode = 206;
                ctx.Response.Headers["Content-Range"] = $"bytes {start}-{payload.Length - 1}/{payload.Length}";
            }
            var length = payload.Length - start;
            ctx.Response.ContentLength64 = length;
            var cut = Interlocked.Exchange(ref truncateNextAt, -1);
            try
            {
                if (cut >= 0)
                {
                    await ctx.Response.OutputStream.WriteAsync(payload.AsMemory(start, cut));
                    ctx.Response.Abort();
                    continue;
                }
                await ctx.Response.OutputStream.WriteAsync(payload.AsMemory(start, length));
                ctx.Response.Close();
            }
            catch (HttpListenerException)
            {
            }
        }
    }

    [Fact]
    public void Sha256IsTakenFromOpenAiStyleUrls()
    {
        Assert.Equal("3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02", WeightDownloader.Sha256FromUrl(WeightDownloader.ClipVitL14At336Url));
        Assert.Null(WeightDownloader.Sha256FromUrl("http://127.0.0.1/x.pt"));
    }

    [Fact]
    public async Task DownloadVerifiesAndRenamesAtomically()
    {
        var dest = Path.Combine(temp.Path, "full.pt");
        await new WeightDownloader().DownloadAsync(Url, dest, WeightDownloader.Sha256FromUrl(Url));
        Assert.Equal(payload, await File.ReadAllBytesAsync(dest));
        Assert.False(File.Exists(dest + ".partial"));
    }

    [Fact]
    public async Task InterruptedDownloadNeverLooksCompleteAndResumes()
    {
        var dest = Path.Combine(temp.Path, "resume.pt");
        truncateNextAt = 100_000;
        await Assert.ThrowsAnyAsync<Exception>(() => new WeightDownloader().DownloadAsync(Url, dest, sha));
        Assert.False(File.Exists(dest));
        Assert.True(File.Exists(dest + ".partial"));
        var partialLength = new FileInfo(dest + ".partial").Length;
        Assert.InRange(partialLength, 1, payload.Length - 1);
        await new WeightDownloader().DownloadAsync(Url, dest, sha);
        Assert.Equal(payload, await File.ReadAllBytesAsync(dest));
    }

    [Fact]
    public async Task ChecksumMismatchIsOneLineAndLeavesNoFile()
    {
        var dest = Path.Combine(temp.Path, "bad.pt");
        var wrong = new string('0', 64);
        var e = await Assert.ThrowsAsync<DownloadException>(() => new WeightDownloader().DownloadAsync(Url, dest, wrong));
        Assert.Contains("sha256 mismatch", e.Message);
        Assert.Contains(sha, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(dest));
        Assert.False(File.Exists(dest + ".partial"));
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        listener.Close();
        temp.Dispose();
    }
}
