// Resumable, verified, atomic download of published weight files (OpenAI's CLIP checkpoints carry their sha256 in the URL).
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace VcpNative.IO.Download;

/// <summary>Thrown when a download fails or its content does not match the expected checksum.</summary>
public sealed class DownloadException : Exception
{
    /// <summary>Creates the exception with its message and cause.</summary>
    public DownloadException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Downloads to <c>dest.partial</c>, resuming with an HTTP Range request when a partial file exists, verifies the
/// sha256, then renames to the destination: a partial or corrupt download never appears under the final name.
/// </summary>
public sealed partial class WeightDownloader
{
    /// <summary>OpenAI's ViT-L/14@336px TorchScript checkpoint (method-spec 1.1).</summary>
    public const string ClipVitL14At336Url =
        "https://openaipublic.azureedge.net/clip/models/3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02/ViT-L-14-336px.pt";

    private readonly HttpClient http;

    /// <summary>A downloader using <paramref name="http"/>, or its own client with a 30-minute timeout.</summary>
    public WeightDownloader(HttpClient? http = null)
    {
        this.http = http ?? new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
    }

    /// <summary>The 64-hex-digit path segment of an OpenAI model URL, or null.</summary>
    public static string? Sha256FromUrl(string url)
    {
        var m = Sha256Segment().Match(url);
        return m.Success ? m.Groups[1].Value.ToLowerInvariant() : null;
    }

    /// <summary>Downloads <paramref name="url"/> to <paramref name="destination"/>; progress reports (bytes done, total or -1).</summary>
    public async Task DownloadAsync(string url, string destination, string? expectedSha256, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default)
    {
        expectedSha256 = expectedSha256?.ToLowerInvariant();
        if (File.Exists(destination) && expectedSha256 is not null && await HashFileAsync(destination, cancel) == expectedSha256)
        {
            progress?.Report((new FileInfo(destination).Length, new FileInfo(destination).Length));
            return;
        }
        var partial = destination + ".partial";
        var dir = Path.GetDirectoryName(Path.GetFullPath(destination));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        }
        catch (HttpRequestException e)
        {
            throw new DownloadException($"{url}: {e.Message}", e);
        }
        using (response)
        {
            if (response.StatusCode == System.Net.HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
            {
                // The partial file is already complete (or longer than the resource): verify it below.
            }
            else if (!response.IsSuccessStatusCode)
            {
                throw new DownloadException($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            else
            {
                var resumed = response.StatusCode == System.Net.HttpStatusCode.PartialContent;
                if (!resumed)
                {
                    have = 0;
                }
                var total = response.Content.Headers.ContentLength is long len ? len + have : -1;
                await using var body = await response.Content.ReadAsStreamAsync(cancel);
                await using (var file = new FileStream(partial, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    var buffer = new byte[1 << 20];
                    var done = have;
                    int read;
                    while ((read = await body.ReadAsync(buffer, cancel)) > 0)
                    {
                        await file.WriteAsync(buffer.AsMemory(0, read), cancel);
                        done += read;
                        progress?.Report((done, total));
                    }
                }
                if (total >= 0 && new FileInfo(partial).Length != total)
                {
                    throw new DownloadException($"{url}: connection closed after {new FileInfo(partial).Length} of {total} bytes; run again to resume");
                }
            }
        }
        if (expectedSha256 is not null)
        {
            var actual = await HashFileAsync(partial, cancel);
            if (actual != expectedSha256)
            {
                File.Delete(partial);
                throw new DownloadException($"{url}: sha256 mismatch: expected {expectedSha256}, found {actual}; the corrupt download was deleted");
            }
        }
        File.Move(partial, destination, overwrite: true);
    }

    /// <summary>Lower-case hex SHA-256 of the file at <paramref name="path"/>.</summary>
    public static async Task<string> HashFileAsync(string path, CancellationToken cancel = default)
    {
        await using var stream = File.OpenRead(path);
        var hash = await SHA256.HashDataAsync(stream, cancel);
        return Convert.ToHexStringLower(hash);
    }

    [GeneratedRegex("/([0-9a-fA-F]{64})/")]
    private static partial Regex Sha256Segment();
}
