// Reads a request's body within the size limit and turns an encoded image into pixels, mapping each failure to its status.
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using VcpNative.IO.Images;

namespace VcpNative.Serve;

/// <summary>Body and image reading shared by the plain API and the inference protocol.</summary>
public static class RequestBody
{
    /// <summary>
    /// The whole body, refused with 413 from its Content-Length (or as soon as a chunked body passes the limit) before
    /// it is buffered; a body cut short by the client is 400.
    /// </summary>
    public static async Task<byte[]> ReadAsync(HttpContext context, long maxBytes)
    {
        var request = context.Request;
        LimitBody(context, maxBytes);
        using var buffer = new MemoryStream(request.ContentLength is long n ? (int)n : 64 * 1024);
        var chunk = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw TooLarge(maxBytes);
                }
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e)
        {
            throw new ServeRequestException(e.StatusCode, e.Message);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// The encoded image of a /v1/detect request: the raw body (image/*, application/octet-stream or no type) or the
    /// multipart field <c>image</c>; other content types are 415, malformed multipart 400.
    /// </summary>
    public static async Task<byte[]> ReadImageAsync(HttpContext context, long maxBytes)
    {
        var request = context.Request;
        var type = request.ContentType;
        if (type is not null && type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            LimitBody(context, maxBytes);
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(context.RequestAborted);
            }
            catch (BadHttpRequestException e)
            {
                throw new ServeRequestException(e.StatusCode, e.Message);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException)
            {
                throw new ServeRequestException(StatusCodes.Status400BadRequest, $"malformed multipart body: {e.Message}");
            }
            var file = form.Files.GetFile("image")
                ?? throw new ServeRequestException(StatusCodes.Status400BadRequest, "the multipart body has no file field named 'image'");
            using var stream = file.OpenReadStream();
            using var copy = new MemoryStream((int)file.Length);
            await stream.CopyToAsync(copy, context.RequestAborted);
            return copy.ToArray();
        }
        if (type is not null && !type.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
            && !type.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            throw new ServeRequestException(StatusCodes.Status415UnsupportedMediaType,
                $"content type '{type}' is not an image: send the encoded file as image/*, application/octet-stream or multipart field 'image'");
        }
        return await ReadAsync(context, maxBytes);
    }

    /// <summary>Decodes PNG, BMP or JPEG bytes; an empty body is 400, an undecodable or oversized image 422 with the decoder's message.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, ImageSizeLimits limits)
    {
        if (encoded.IsEmpty)
        {
            throw new ServeRequestException(StatusCodes.Status400BadRequest, "the request has no image bytes");
        }
        try
        {
            // The header is checked against the limits before any pixel buffer exists: a decompression bomb stops here.
            return ImageDecoder.Decode(encoded, "image", limits).ToRgb();
        }
        catch (Exception e) when (e is ImageDecodeException or InvalidDataException or IndexOutOfRangeException or ArgumentException or OverflowException)
        {
            throw new ServeRequestException(StatusCodes.Status422UnprocessableEntity, ErrorText.OneLine(e));
        }
    }

    /// <summary>413 now when the declared length is over the limit; otherwise Kestrel stops the body at the limit while it is read.</summary>
    private static void LimitBody(HttpContext context, long maxBytes)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }
    }

    private static ServeRequestException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"request body larger than {maxBytes / (1024 * 1024)} MiB (--max-request-mb)");
}
