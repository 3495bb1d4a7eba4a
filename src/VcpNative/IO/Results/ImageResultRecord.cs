// One image's inference result as written to results.json / results.csv.
namespace VcpNative.IO.Results;

/// <summary>Input path, raw score, optional verdict and the files written for the image (relative to the output folder).</summary>
public sealed record ImageResultRecord(
    string Input,
    double Score,
    bool? Anomalous,
    string? Map,
    string? Overlay,
    string? Mask);
