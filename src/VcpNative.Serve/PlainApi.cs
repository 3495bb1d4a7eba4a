// The plain HTTP API: POST /v1/detect (an encoded image in, score/verdict/map/overlay out) and GET /v1/model.
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using VcpNative.IO;
using VcpNative.IO.Images;

namespace VcpNative.Serve;

/// <summary>Handlers of the /v1 routes.</summary>
public static class PlainApi
{
    /// <summary>POST /v1/detect?map=none|png|npy&amp;overlay=0|1.</summary>
    public static async Task DetectAsync(HttpContext context, ServeState state)
    {
        var started = Stopwatch.GetTimestamp();
        var query = context.Request.Query;
        var mapFormat = query["map"].ToString() is { Length: > 0 } m ? m : "none";
        if (mapFormat is not ("none" or "png" or "npy"))
        {
            throw new ServeRequestException(StatusCodes.Status400BadRequest, $"map must be none, png or npy, got '{mapFormat}'");
        }
        var overlay = query["overlay"].ToString() switch
        {
            "" or "0" => false,
            "1" => true,
            var o => throw new ServeRequestException(StatusCodes.Status400BadRequest, $"overlay must be 0 or 1, got '{o}'"),
        };
        var service = state.ReadyWithRoom(context);
        var encoded = await RequestBody.ReadImageAsync(context, state.Settings.MaxRequestBytes);
        var image = RequestBody.Decode(encoded, state.Settings.ImageLimits);
        var done = await state.DetectAsync(context, image);
        var r = done.Result;
        var detector = service.Detector;
        var response = new DetectResponse(context.TraceIdentifier, r.Score, r.IsAnomalous, detector.Threshold, detector.Method, detector.ImageSize,
            r.OriginalWidth, r.OriginalHeight, done.BatchSize,
            new DetectTiming(done.QueueMs, done.ComputeMs, Stopwatch.GetElapsedTime(started).TotalMilliseconds))
        {
            MapFormat = mapFormat == "none" ? null : mapFormat,
            Map = mapFormat switch
            {
                "png" => Convert.ToBase64String(PngEncoder.Encode(MapImage(r))),
                "npy" => Convert.ToBase64String(Npy(r)),
                _ => null,
            },
            Overlay = overlay ? Convert.ToBase64String(PngEncoder.Encode(Overlay(image, r))) : null,
        };
        await ServeState.WriteJsonAsync(context, response, ServeJson.Default.DetectResponse);
    }

    /// <summary>GET /v1/model.</summary>
    public static Task ModelAsync(HttpContext context, ServeState state)
    {
        var service = state.Ready();
        var d = service.Detector;
        var info = new ModelInfo(state.Settings.ModelName, d.Method, d.ImageSize, d.Threshold, service.HeadSha256, d.ClipConfig);
        return ServeState.WriteJsonAsync(context, info, ServeJson.Default.ModelInfo);
    }

    /// <summary>The map resized to the uploaded image's own size and drawn over it, as <c>infer</c>'s overlays.</summary>
    public static RgbImage Overlay(RgbImage image, AnomalyResult result) => result.OverlayOn(image);

    private static GreyImage MapImage(AnomalyResult r)
    {
        var map = r.Map;
        var pixels = new byte[map.Length];
        for (var i = 0; i < map.Length; i++)
        {
            pixels[i] = (byte)MathF.Round(Math.Clamp(map[i], 0f, 1f) * 255f);
        }
        return new GreyImage(r.MapSize, r.MapSize, pixels);
    }

    private static byte[] Npy(AnomalyResult r)
    {
        using var stream = new MemoryStream();
        NpyWriter.Write(stream, r.Map, r.MapSize, r.MapSize);
        return stream.ToArray();
    }
}
