// JSON bodies of the plain API and the inference protocol's metadata, serialised by source generation (NativeAOT-safe).
using System.Text.Json;
using System.Text.Json.Serialization;
using VcpNative.Models.Clip;

namespace VcpNative.Serve;

/// <summary>{"error": "..."}: the protocol's error object, used by every route.</summary>
public sealed record ErrorBody(string Error);

/// <summary>Where a /v1/detect request's time went, in milliseconds.</summary>
public sealed record DetectTiming(double QueueMs, double ComputeMs, double TotalMs);

/// <summary>The answer of POST /v1/detect.</summary>
public sealed record DetectResponse(string Id, float Score, bool? Anomalous, double? Threshold, string Method, int ImageSize,
    int OriginalWidth, int OriginalHeight, int BatchSize, DetectTiming Timing)
{
    /// <summary>"png" or "npy" when the map was asked for.</summary>
    public string? MapFormat { get; init; }

    /// <summary>Base64 of the map file (8-bit grey PNG of the map clamped to [0,1], or float32 [S,S] .npy).</summary>
    public string? Map { get; init; }

    /// <summary>Base64 of the overlay PNG (the model-size image with the heat map over it).</summary>
    public string? Overlay { get; init; }
}

/// <summary>The answer of GET /v1/model.</summary>
public sealed record ModelInfo(string Name, string Method, int ImageSize, double? Threshold, string HeadSha256, ClipConfig? Clip);

/// <summary>A tensor's name, type and shape in model metadata (-1: any size).</summary>
public sealed record TensorMetadata(string Name, string Datatype, long[] Shape);

/// <summary>GET /v2/models/{name}.</summary>
public sealed record ModelMetadata(string Name, string[] Versions, string Platform, TensorMetadata[] Inputs, TensorMetadata[] Outputs);

/// <summary>GET /v2: server metadata.</summary>
public sealed record ServerMetadata(string Name, string Version, string[] Extensions);

/// <summary>One input tensor of an inference request.</summary>
public sealed record InferInputTensor(string? Name, long[]? Shape, string? Datatype, Dictionary<string, JsonElement>? Parameters, JsonElement? Data);

/// <summary>One requested output of an inference request.</summary>
public sealed record InferRequestedOutput(string? Name, Dictionary<string, JsonElement>? Parameters);

/// <summary>POST /v2/models/{name}/infer: the JSON part of the request.</summary>
public sealed record InferRequest(string? Id, Dictionary<string, JsonElement>? Parameters, InferInputTensor[]? Inputs, InferRequestedOutput[]? Outputs);

/// <summary>Source-generated serialisers; snake_case names as the protocol spells them, nulls left out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(DetectResponse))]
[JsonSerializable(typeof(ModelInfo))]
[JsonSerializable(typeof(ModelMetadata))]
[JsonSerializable(typeof(ServerMetadata))]
[JsonSerializable(typeof(InferRequest))]
public sealed partial class ServeJson : JsonSerializerContext;
