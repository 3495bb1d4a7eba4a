// Source-generated JSON for results.json and threshold.json: no reflection, so the NativeAOT build has no trim warnings.
using System.Text.Json.Serialization;

namespace VcpNative.IO.Results;

/// <summary>snake_case names, indented, nulls left out (the format results.json and threshold.json have always had).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageResultRecord))]
[JsonSerializable(typeof(IReadOnlyList<ImageResultRecord>))]
[JsonSerializable(typeof(List<ImageResultRecord>))]
[JsonSerializable(typeof(ThresholdFile))]
internal sealed partial class ResultsJsonContext : JsonSerializerContext;
