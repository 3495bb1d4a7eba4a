// GET /: the one self-contained page (embedded index.html; no CDN, no external request).
using Microsoft.AspNetCore.Http;

namespace VcpNative.Serve;

/// <summary>Serves the embedded inspection page.</summary>
public static class WebPage
{
    private static readonly Lazy<byte[]> Html = new(() =>
    {
        using var stream = typeof(WebPage).Assembly.GetManifestResourceStream("VcpNative.Serve.index.html")
            ?? throw new InvalidOperationException("the embedded page VcpNative.Serve.index.html is missing from this build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>Writes the page.</summary>
    public static Task WriteAsync(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        // The page talks only to this server: forbid every other origin for scripts, images and requests.
        context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'";
        return context.Response.Body.WriteAsync(Html.Value, context.RequestAborted).AsTask();
    }
}
