// The settings block every report shows: model files and fingerprint, method, image size, device, date, program version.
using System.Globalization;
using VcpNative.IO.Results;

namespace VcpNative.Anomaly.Reports;

/// <summary>Key/value lines for <see cref="HtmlReportPage.Settings"/>, in the order they are shown.</summary>
internal static class ReportSettings
{
    /// <summary>
    /// The run's model (CLIP and head file names, <see cref="ModelFingerprint"/> of the pair), method, image size, the
    /// backend's name, the UTC date and the program version; <paramref name="extra"/> lines follow. <paramref name="fingerprint"/>:
    /// <see cref="Fingerprint"/> of the pair if the caller computed it already (eval starts it early); null: computed here.
    /// </summary>
    public static List<KeyValuePair<string, string>> ForModel(string clip, string head, string method, int imageSize, string device,
        IEnumerable<KeyValuePair<string, string>>? extra = null, string? fingerprint = null)
    {
        var lines = new List<KeyValuePair<string, string>>
        {
            new("method", method),
            new("clip", Path.GetFileName(clip)),
            new("head", Path.GetFileName(head)),
            new("model fingerprint", fingerprint ?? Fingerprint(clip, head)),
            new("image size", imageSize.ToString(CultureInfo.InvariantCulture)),
            new("device", device),
        };
        lines.AddRange(extra ?? []);
        lines.AddRange(Common());
        return lines;
    }

    /// <summary>The settings line's <see cref="ModelFingerprint"/> of the pair, or why there is none.</summary>
    public static string Fingerprint(string clip, string head) =>
        File.Exists(clip) && File.Exists(head) ? ModelFingerprint.Of(clip, head) : "n/a (files not found)";

    /// <summary>The date (UTC, ISO 8601 to the second) and the program version.</summary>
    public static List<KeyValuePair<string, string>> Common() =>
    [
        new("date (UTC)", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
        new("version", "vcp-native " + (typeof(ReportSettings).Assembly.GetName().Version?.ToString(3) ?? "unknown")),
    ];
}
