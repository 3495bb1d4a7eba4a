// The calibrated image-score threshold, saved next to the results and read back by `infer --threshold FILE`.
using System.Text.Json;

namespace VcpNative.IO.Results;

/// <summary>threshold = the given percentile of scores on normal images + margin (absolute, in score units).</summary>
public sealed record ThresholdFile(double Threshold, double Percentile, double Margin, int Images, double ScoreMin, double ScoreMax, double ScoreMean)
{
    /// <summary>The method the scores came from ("vcp", "vip2"); null in files written before it was recorded.</summary>
    public string? Method { get; init; }

    /// <summary>The input size the scores were computed at; null in older files.</summary>
    public int? ImageSize { get; init; }

    /// <summary><see cref="ModelFingerprint"/> of the CLIP and head files; null in older files.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>
    /// Why this threshold cannot be used with scores of <paramref name="method"/> at <paramref name="imageSize"/> from
    /// weights with <paramref name="fingerprint"/>, or null when it can (a setting the file does not record is not checked).
    /// </summary>
    /// <param name="method">The method that will score.</param>
    /// <param name="imageSize">The input size it will score at.</param>
    /// <param name="fingerprint">The fingerprint of its CLIP and head files.</param>
    public string? Mismatch(string method, int imageSize, string fingerprint)
    {
        if (Method is not null && Method != method)
        {
            return $"it was calibrated with method {Method}, not {method}";
        }
        if (ImageSize is int size && size != imageSize)
        {
            return $"it was calibrated at image size {size}, not {imageSize}";
        }
        if (Fingerprint is not null && Fingerprint != fingerprint)
        {
            return $"it was calibrated with other CLIP/head files (fingerprint {Fingerprint}, these are {fingerprint})";
        }
        return null;
    }

    /// <summary>Threshold = the <paramref name="percentile"/> of normal-image scores (numpy's linear interpolation) + <paramref name="margin"/>.</summary>
    public static ThresholdFile FromScores(IReadOnlyList<double> scores, double percentile, double margin)
    {
        if (scores.Count == 0)
        {
            throw new ArgumentException("no normal-image scores to calibrate from");
        }
        if (percentile is < 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), $"percentile {percentile} is outside [0, 100]");
        }
        var sorted = scores.Order().ToArray();
        // Linear interpolation between closest ranks (numpy.percentile's default).
        var position = percentile / 100.0 * (sorted.Length - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        var value = sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
        return new ThresholdFile(value + margin, percentile, margin, sorted.Length, sorted[0], sorted[^1], sorted.Average());
    }

    /// <summary>Writes the file as JSON, atomically.</summary>
    public void Save(string path) => ResultsWriter.WriteAtomically(path, JsonSerializer.Serialize(this, ResultsJsonContext.Default.ThresholdFile) + "\n");

    /// <summary>Reads a threshold file written by <see cref="Save"/>.</summary>
    public static ThresholdFile Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), ResultsJsonContext.Default.ThresholdFile)
                ?? throw new InvalidDataException($"{path}: empty threshold file");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a threshold file written by 'vcp-native calibrate': {e.Message}", e);
        }
    }

    /// <summary>A number, or the path of a threshold.json written by calibrate.</summary>
    public static double Parse(string value)
    {
        if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }
        if (File.Exists(value))
        {
            return Load(value).Threshold;
        }
        throw new ArgumentException($"threshold '{value}' is neither a number nor an existing threshold.json");
    }
}
