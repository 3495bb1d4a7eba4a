// The calibrated image-score threshold, saved next to the results and read back by `infer --threshold FILE`.
using System.Text.Json;

namespace VcpNative.IO.Results;

/// <summary>threshold = the given percentile of scores on normal images + margin (absolute, in score units).</summary>
public sealed record ThresholdFile(double Threshold, double Percentile, double Margin, int Images, double ScoreMin, double ScoreMax, double ScoreMean)
{
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
