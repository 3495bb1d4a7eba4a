// One image's inference result as written to results.json / results.csv.
namespace VcpNative.IO.Results;

/// <summary>Input path, raw score, optional verdict and the files written for the image (relative to the output folder).</summary>
/// <param name="Input">The input path as given.</param>
/// <param name="Score">The raw image score.</param>
/// <param name="Anomalous">Score above the threshold, when one was set.</param>
/// <param name="Map">maps/ file, when written.</param>
/// <param name="Overlay">overlays/ file, when written.</param>
/// <param name="Mask">masks/ file, when written.</param>
/// <param name="Width">Width of the image as decoded (upright) before resizing, when known: the size of its overlay and mask.</param>
/// <param name="Height">Height of the image as decoded (upright) before resizing, when known.</param>
public sealed record ImageResultRecord(
    string Input,
    double Score,
    bool? Anomalous,
    string? Map,
    string? Overlay,
    string? Mask,
    int? Width = null,
    int? Height = null);
