// The Open Inference Protocol (KServe v2 / Triton REST) over the detector: health, metadata and infer, with the
// binary tensor data extension, so KServe and Triton clients work unchanged.
using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace VcpNative.Serve;

/// <summary>Handlers of the /v2 routes. The model takes one input <c>image</c> (BYTES [1]: the encoded file) and
/// returns <c>score</c> (FP32 [1]), <c>anomalous</c> (BOOL [1], with a threshold) and, on request, <c>anomaly_map</c> (FP32 [S,S]).</summary>
public static class InferenceProtocol
{
    /// <summary>The binary extension's header: the length of the JSON part that starts the body.</summary>
    public const string HeaderLength = "Inference-Header-Content-Length";

    private const string Score = "score";
    private const string Anomalous = "anomalous";
    private const string AnomalyMap = "anomaly_map";

    /// <summary>GET /v2.</summary>
    public static Task ServerMetadataAsync(HttpContext context, ServeState state) =>
        ServeState.WriteJsonAsync(context, new ServerMetadata("vcp-native", typeof(InferenceProtocol).Assembly.GetName().Version?.ToString(3) ?? "0",
            ["binary_tensor_data"]), ServeJson.Default.ServerMetadata);

    /// <summary>GET /v2/models/{name}.</summary>
    public static Task ModelMetadataAsync(HttpContext context, ServeState state)
    {
        var service = Model(context, state);
        var s = service.Detector.ImageSize;
        var metadata = new ModelMetadata(state.Settings.ModelName, ["1"], "vcp-native_" + service.Detector.Method,
            [new TensorMetadata("image", "BYTES", [1])],
            [new TensorMetadata(Score, "FP32", [1]), new TensorMetadata(Anomalous, "BOOL", [1]), new TensorMetadata(AnomalyMap, "FP32", [s, s])]);
        return ServeState.WriteJsonAsync(context, metadata, ServeJson.Default.ModelMetadata);
    }

    /// <summary>GET /v2/models/{name}/ready: 200 once loaded, else 503.</summary>
    public static Task ModelReadyAsync(HttpContext context, ServeState state)
    {
        Model(context, state);
        context.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    }

    /// <summary>POST /v2/models/{name}/infer.</summary>
    public static async Task InferAsync(HttpContext context, ServeState state)
    {
        var service = Model(context, state);
        state.ReadyWithRoom(context);
        var body = await RequestBody.ReadAsync(context, state.Settings.MaxRequestBytes);
        var (request, binary) = Split(context, body);
        var outputs = RequestedOutputs(request);
        if (service.Detector.Threshold is null)
        {
            outputs.RemoveAll(o => o.Name == Anomalous && !o.Explicit);
            if (outputs.Any(o => o.Name == Anomalous))
            {
                throw Bad("output 'anomalous' needs a threshold: start the server with --threshold");
            }
        }
        var image = RequestBody.Decode(ImageBytes(request, binary), state.Settings.ImageLimits);
        var done = await state.DetectAsync(context, image);
        await WriteResponseAsync(context, state, request, done.Result, outputs);
    }

    private static LoadedService Model(HttpContext context, ServeState state)
    {
        var name = context.Request.RouteValues["name"] as string;
        if (name != state.Settings.ModelName)
        {
            throw new ServeRequestException(StatusCodes.Status404NotFound, $"unknown model '{name}' (this server has '{state.Settings.ModelName}')");
        }
        return state.Ready();
    }

    /// <summary>The JSON part and the binary tail (empty without the binary extension).</summary>
    private static (InferRequest Request, ReadOnlyMemory<byte> Binary) Split(HttpContext context, byte[] body)
    {
        var jsonLength = body.Length;
        if (context.Request.Headers[HeaderLength].ToString() is { Length: > 0 } header
            && (!int.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out jsonLength) || jsonLength > body.Length))
        {
            throw Bad($"{HeaderLength} '{header}' is not a length within the {body.Length}-byte body");
        }
        try
        {
            var request = JsonSerializer.Deserialize(body.AsSpan(0, jsonLength), ServeJson.Default.InferRequest)
                ?? throw Bad("the request body is JSON null");
            return (request, body.AsMemory(jsonLength));
        }
        catch (JsonException e)
        {
            throw Bad($"the request is not a valid inference request: {e.Message}");
        }
    }

    /// <summary>The encoded image of input <c>image</c>: base64 in JSON, or raw bytes (Triton's 4-byte length prefix allowed) in the binary tail.</summary>
    private static byte[] ImageBytes(InferRequest request, ReadOnlyMemory<byte> binary)
    {
        var inputs = request.Inputs ?? [];
        var offset = 0;
        foreach (var input in inputs)
        {
            var size = BinarySize(input.Parameters, "input", input.Name);
            if (input.Name != "image")
            {
                offset += size ?? 0;
                continue;
            }
            if (input.Datatype != "BYTES")
            {
                throw Bad($"input 'image' must have datatype BYTES, got '{input.Datatype}'");
            }
            if (input.Shape is not null && (input.Shape.Length != 1 || input.Shape[0] != 1))
            {
                throw Bad($"input 'image' must have shape [1], got [{string.Join(',', input.Shape)}]");
            }
            if (size is int n)
            {
                if (offset + n > binary.Length)
                {
                    throw Bad($"input 'image' has binary_data_size {n} but the binary part has {binary.Length - offset} bytes left");
                }
                var raw = binary.Span.Slice(offset, n);
                // Triton's clients serialise each BYTES element as a little-endian uint32 length, then the bytes.
                return raw.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(raw) == (uint)(raw.Length - 4) ? raw[4..].ToArray() : raw.ToArray();
            }
            return Base64Element(input.Data);
        }
        throw Bad($"the request has no input named 'image' (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
    }

    private static byte[] Base64Element(JsonElement? data)
    {
        var element = data ?? throw Bad("input 'image' has no data and no binary_data_size");
        while (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() == 1)
        {
            element = element[0];
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            throw Bad("input 'image' data must be one base64 string (shape [1])");
        }
        try
        {
            return Convert.FromBase64String(element.GetString()!);
        }
        catch (FormatException)
        {
            throw Bad("input 'image' data is not valid base64");
        }
    }

    private static int? BinarySize(Dictionary<string, JsonElement>? parameters, string kind, string? name)
    {
        if (parameters is null || !parameters.TryGetValue("binary_data_size", out var size))
        {
            return null;
        }
        return size.ValueKind == JsonValueKind.Number && size.TryGetInt32(out var n) && n >= 0
            ? n : throw Bad($"{kind} '{name}' has an invalid binary_data_size");
    }

    private static bool Flag(Dictionary<string, JsonElement>? parameters, string name) =>
        parameters is not null && parameters.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static List<OutputChoice> RequestedOutputs(InferRequest request)
    {
        var binaryAll = Flag(request.Parameters, "binary_data_output");
        if (request.Outputs is null || request.Outputs.Length == 0)
        {
            return [new(Score, binaryAll, false), new(Anomalous, binaryAll, false)];
        }
        var list = new List<OutputChoice>();
        foreach (var o in request.Outputs)
        {
            if (o.Name is not (Score or Anomalous or AnomalyMap))
            {
                throw Bad($"unknown output '{o.Name}' (outputs: {Score}, {Anomalous}, {AnomalyMap})");
            }
            list.Add(new(o.Name, binaryAll || Flag(o.Parameters, "binary_data"), true));
        }
        return list;
    }

    private static async Task WriteResponseAsync(HttpContext context, ServeState state, InferRequest request, AnomalyResult result, List<OutputChoice> outputs)
    {
        var json = new ArrayBufferWriter<byte>();
        var tail = new List<byte[]>();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteString("model_name", state.Settings.ModelName);
            w.WriteString("model_version", "1");
            if (request.Id is not null)
            {
                w.WriteString("id", request.Id);
            }
            w.WriteStartArray("outputs");
            foreach (var o in outputs)
            {
                WriteOutput(w, o, result, tail);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        if (tail.Count == 0)
        {
            response.ContentType = "application/json";
            await response.Body.WriteAsync(json.WrittenMemory, context.RequestAborted);
            return;
        }
        response.ContentType = "application/octet-stream";
        response.Headers[HeaderLength] = json.WrittenCount.ToString(CultureInfo.InvariantCulture);
        response.ContentLength = json.WrittenCount + tail.Sum(b => (long)b.Length);
        await response.Body.WriteAsync(json.WrittenMemory, context.RequestAborted);
        foreach (var b in tail)
        {
            await response.Body.WriteAsync(b, context.RequestAborted);
        }
    }

    private static void WriteOutput(Utf8JsonWriter w, OutputChoice o, AnomalyResult r, List<byte[]> tail)
    {
        var (datatype, shape) = o.Name switch
        {
            Score => ("FP32", new long[] { 1 }),
            Anomalous => ("BOOL", [1]),
            _ => ("FP32", [r.MapSize, r.MapSize]),
        };
        w.WriteStartObject();
        w.WriteString("name", o.Name);
        w.WriteString("datatype", datatype);
        w.WriteStartArray("shape");
        foreach (var d in shape)
        {
            w.WriteNumberValue(d);
        }
        w.WriteEndArray();
        ReadOnlySpan<float> values = o.Name switch
        {
            Score => [r.Score],
            AnomalyMap => r.Map,
            _ => [],
        };
        if (o.Binary)
        {
            var bytes = o.Name == Anomalous ? [r.IsAnomalous == true ? (byte)1 : (byte)0] : new byte[values.Length * 4];
            for (var i = 0; o.Name != Anomalous && i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
            }
            tail.Add(bytes);
            w.WriteStartObject("parameters");
            w.WriteNumber("binary_data_size", bytes.Length);
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartArray("data");
            if (o.Name == Anomalous)
            {
                w.WriteBooleanValue(r.IsAnomalous == true);
            }
            foreach (var v in values)
            {
                w.WriteNumberValue(v);
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static ServeRequestException Bad(string message) => new(StatusCodes.Status400BadRequest, message);

    /// <summary>An output to return, whether in the binary tail, and whether the client named it.</summary>
    private sealed record OutputChoice(string Name, bool Binary, bool Explicit);
}
