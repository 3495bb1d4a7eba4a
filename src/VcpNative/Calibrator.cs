// The library form of `vcp-native calibrate`: score normal images and choose an image-score threshold from them.
using VcpNative.Anomaly.Inference;
using VcpNative.IO.Images;
using VcpNative.IO.Results;

namespace VcpNative;

/// <summary>How <see cref="Calibrator"/> turns normal-image scores into a threshold; defaults are <c>calibrate</c>'s.</summary>
public sealed record CalibrationOptions
{
    /// <summary>Percentile (0..100) of the normal-image scores; default 99.</summary>
    public double Percentile { get; init; } = 99.0;

    /// <summary>Added to that percentile, in score units; default 0.02.</summary>
    public double Margin { get; init; } = 0.02;

    /// <summary>Images per forward pass; default 1.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>When set, results.json/results.csv and threshold.json are written there (the folder is created).</summary>
    public string? OutputFolder { get; init; }

    /// <summary>
    /// <see cref="IO.Results.ModelFingerprint"/> of the detector's CLIP and head files, recorded in threshold.json (set
    /// by <see cref="Calibrator.Run(string, string, IEnumerable{string}, CalibrationOptions?, Action{int}?)"/>; null = not recorded).
    /// </summary>
    public string? ModelFingerprint { get; init; }

    /// <summary>How the detector is opened by <see cref="Calibrator.Run(string, string, IEnumerable{string}, CalibrationOptions?, Action{int}?)"/>.</summary>
    public DetectorOptions Detector { get; init; } = new();
}

/// <summary>An input that produced no score, and why (the exception the CLI prints as one line).</summary>
public sealed record ImageFailure(string Input, Exception Error);

/// <summary>The chosen threshold, every normal image's score, the inputs that failed and where threshold.json went.</summary>
public sealed record CalibrationResult(ThresholdFile Threshold, IReadOnlyList<ImageResultRecord> Records, IReadOnlyList<ImageFailure> Failures, string? ThresholdPath);

/// <summary>
/// Threshold = percentile of the scores of normal (defect-free) images + margin; pass it to
/// <see cref="DetectorOptions.ThresholdFile"/> or <c>infer --threshold</c>. Bad images are skipped and listed in
/// <see cref="CalibrationResult.Failures"/>, as <c>calibrate</c> does.
/// </summary>
public static class Calibrator
{
    /// <summary>Opens the detector from <see cref="CalibrationOptions.Detector"/> and calibrates on image files or folders (searched recursively).</summary>
    /// <param name="clipPath">CLIP weights, as for <see cref="AnomalyDetector.Open(string, string, DetectorOptions?)"/>.</param>
    /// <param name="headPath">The method's heads.</param>
    /// <param name="normalImages">Files or folders of normal (defect-free) images; missing ones become failures.</param>
    /// <param name="options">Percentile, margin, batch size, output folder and detector options.</param>
    /// <param name="onBatchDone">Called after each batch with the number of images it held (progress).</param>
    /// <exception cref="ArgumentException">No image could be scored.</exception>
    public static CalibrationResult Run(string clipPath, string headPath, IEnumerable<string> normalImages, CalibrationOptions? options = null, Action<int>? onBatchDone = null)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        options ??= new CalibrationOptions();
        var missing = new List<string>();
        var files = ImageFiles.Expand(normalImages, missing);
        using var detector = AnomalyDetector.Open(clipPath, headPath, options.Detector);
        var result = Run(detector, files, options with { ModelFingerprint = ModelFingerprint.Of(clipPath, headPath) }, onBatchDone);
        var failures = missing.Select(m => new ImageFailure(m, new FileNotFoundException("no such file or folder", m))).Concat(result.Failures).ToList();
        return result with { Failures = failures };
    }

    /// <summary>Calibrates <paramref name="detector"/> (its own options apply; <see cref="CalibrationOptions.Detector"/> is ignored) on image files.</summary>
    /// <exception cref="ArgumentException">No image could be scored, or the percentile is outside [0, 100].</exception>
    public static CalibrationResult Run(AnomalyDetector detector, IReadOnlyList<string> imageFiles, CalibrationOptions? options = null, Action<int>? onBatchDone = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(imageFiles);
        options ??= new CalibrationOptions();
        var records = new List<ImageResultRecord>();
        var failures = new List<ImageFailure>();
        detector.Run(imageFiles.Select(ImageInput.FromFile), Math.Max(1, options.BatchSize),
            result => records.Add(new ImageResultRecord(result.Name, result.Score, null, null, null, null)),
            (input, e) => failures.Add(new ImageFailure(input.Name, e)),
            onBatchDone);
        if (options.OutputFolder is { } folder)
        {
            ResultsWriter.Write(folder, records);
        }
        var threshold = ThresholdFile.FromScores(records.Select(r => r.Score).ToList(), options.Percentile, options.Margin)
            with { Method = detector.Method, ImageSize = detector.ImageSize, Fingerprint = options.ModelFingerprint };
        string? path = null;
        if (options.OutputFolder is { } output)
        {
            path = Path.Combine(output, "threshold.json");
            threshold.Save(path);
        }
        return new CalibrationResult(threshold, records, failures, path);
    }
}
