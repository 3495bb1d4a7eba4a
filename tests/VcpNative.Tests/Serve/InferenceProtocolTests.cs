// The Open Inference Protocol routes as KServe and Triton clients use them: JSON (base64 BYTES) and the binary extension.
using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

namespace VcpNative.Tests.Serve;

public class InferenceProtocolTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static float ExpectedScore(byte[] png)
    {
        using var detector = AnomalyDetector.Open(ServeServer.Clip, ServeServer.Head, ServeServer.Options);
        return detector.Detect(png).Score;
    }

    [Fact]
    public async Task MetadataFollowsTheSchema()
    {
        await using var server = await ServeServer.StartAsync();
        using var doc = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/vcp-native"));
        var m = doc.RootElement;
        Assert.Equal("vcp-native", m.GetProperty("name").GetString());
        Assert.Equal("1", m.GetProperty("versions")[0].GetString());
        Assert.False(string.IsNullOrEmpty(m.GetProperty("platform").GetString()));
        var input = m.GetProperty("inputs")[0];
        Assert.Equal(("image", "BYTES", 1), (input.GetProperty("name").GetString(), input.GetProperty("datatype").GetString(), input.GetProperty("shape")[0].GetInt32()));
        var outputs = m.GetProperty("outputs").EnumerateArray().Select(o => $"{o.GetProperty("name").GetString()}:{o.GetProperty("datatype").GetString()}:{o.GetProperty("shape").GetArrayLength()}");
        Assert.Equal(["score:FP32:1", "anomalous:BOOL:1", "anomaly_map:FP32:2"], outputs);
        using var server2 = await server.Client.GetAsync("/v2");
        Assert.Contains("binary_tensor_data", await server2.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var unknown = await server.Client.GetAsync("/v2/models/other");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var error = JsonDocument.Parse(await unknown.Content.ReadAsStringAsync());
        Assert.Contains("other", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonInferReturnsScoreVerdictAndRequestedMap()
    {
        await using var server = await ServeServer.StartAsync();
        var png = ServeServer.Png(seed: 7);
        var expected = ExpectedScore(png);
        var body = $$"""{"id":"r1","inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["{{Convert.ToBase64String(png)}}"]}]}""";
        using var r = await server.Client.PostAsync("/v2/models/vcp-native/infer", Json(body));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal("vcp-native", doc.RootElement.GetProperty("model_name").GetString());
        Assert.Equal("r1", doc.RootElement.GetProperty("id").GetString());
        var outputs = doc.RootElement.GetProperty("outputs");
        Assert.Equal(2, outputs.GetArrayLength());
        Assert.Equal(("score", "FP32"), (outputs[0].GetProperty("name").GetString(), outputs[0].GetProperty("datatype").GetString()));
        Assert.Equal(expected, outputs[0].GetProperty("data")[0].GetSingle());
        Assert.Equal(("anomalous", "BOOL"), (outputs[1].GetProperty("name").GetString(), outputs[1].GetProperty("datatype").GetString()));
        Assert.Equal(expected > 0.5, outputs[1].GetProperty("data")[0].GetBoolean());

        var withMap = $$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["{{Convert.ToBase64String(png)}}"]}],"outputs":[{"name":"anomaly_map"}]}""";
        using var m = await server.Client.PostAsync("/v2/models/vcp-native/infer", Json(withMap));
        using var mdoc = JsonDocument.Parse(await m.Content.ReadAsStringAsync());
        var map = mdoc.RootElement.GetProperty("outputs")[0];
        Assert.Equal("anomaly_map", map.GetProperty("name").GetString());
        Assert.Equal([ServeServer.Size, ServeServer.Size], map.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(ServeServer.Size * ServeServer.Size, map.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BinaryExtensionTakesRawOrTritonLengthPrefixedBytesAndReturnsBinaryOutputs(bool tritonPrefix)
    {
        await using var server = await ServeServer.StartAsync();
        var png = ServeServer.Png(seed: 3);
        var expected = ExpectedScore(png);
        var element = tritonPrefix ? [.. BitConverter.GetBytes(png.Length), .. png] : png;
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":"""
            + element.Length + """}}],"outputs":[{"name":"score","parameters":{"binary_data":true}},{"name":"anomaly_map","parameters":{"binary_data":false}}]}""");
        using var content = new ByteArrayContent([.. header, .. element]);
        content.Headers.ContentType = new("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", $"{header.Length}");
        using var r = await server.Client.PostAsync("/v2/models/vcp-native/infer", content);
        var bytes = await r.Content.ReadAsByteArrayAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, Encoding.UTF8.GetString(bytes));
        var jsonLength = int.Parse(r.Headers.GetValues("Inference-Header-Content-Length").Single());
        using var doc = JsonDocument.Parse(bytes.AsMemory(0, jsonLength));
        var score = doc.RootElement.GetProperty("outputs")[0];
        Assert.Equal(4, score.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(score.TryGetProperty("data", out _));
        Assert.Equal(expected, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(jsonLength)));
        Assert.Equal(jsonLength + 4, bytes.Length);
        Assert.Equal(ServeServer.Size * ServeServer.Size, doc.RootElement.GetProperty("outputs")[1].GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("{not json", "not a valid inference request")]
    [InlineData("""{"inputs":[]}""", "no input named 'image'")]
    [InlineData("""{"inputs":[{"name":"image","shape":[1],"datatype":"FP32","data":[1.0]}]}""", "datatype BYTES")]
    [InlineData("""{"inputs":[{"name":"image","shape":[2],"datatype":"BYTES","data":["AA==","AA=="]}]}""", "shape [1]")]
    [InlineData("""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["***"]}]}""", "base64")]
    [InlineData("""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["iVBORw0KGgo="]}],"outputs":[{"name":"logits"}]}""", "unknown output")]
    public async Task BadRequestsGet400WithTheErrorObject(string body, string message)
    {
        await using var server = await ServeServer.StartAsync();
        using var r = await server.Client.PostAsync("/v2/models/vcp-native/infer", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Contains(message, doc.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUndecodableImageIs422()
    {
        await using var server = await ServeServer.StartAsync();
        var body = $$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["{{Convert.ToBase64String("hello"u8.ToArray())}}"]}]}""";
        using var r = await server.Client.PostAsync("/v2/models/vcp-native/infer", Json(body));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
    }
}
