// The records of a results.json: infer writes an object (score meaning, method, image size) with them under "results";
// eval and calibrate write a plain array.
using System.Text.Json;

namespace VcpNative.Tests;

public static class ResultsJson
{
    public static JsonElement Records(JsonDocument document) =>
        document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.GetProperty("results") : document.RootElement;
}
