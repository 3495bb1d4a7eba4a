// One metric value that may be undefined (e.g. AUROC of a class without anomalies), carrying the reason instead of throwing.
namespace VcpNative.Anomaly.Metrics;

/// <summary>A metric value in [0, 1] (not x100), or NaN with a one-line reason when the metric is undefined for the input.</summary>
public readonly record struct MetricValue(double Value, string? UndefinedReason)
{
    /// <summary>False when the metric has no value for this data (see <see cref="UndefinedReason"/>).</summary>
    public bool IsDefined => UndefinedReason is null;

    /// <summary>A metric with a value.</summary>
    public static MetricValue Defined(double value) => new(value, null);

    /// <summary>A metric without a value (NaN), with the reason.</summary>
    public static MetricValue Undefined(string reason) => new(double.NaN, reason);

    /// <summary>The value round-trippable, or "undefined: reason".</summary>
    public override string ToString() => IsDefined ? Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "undefined: " + UndefinedReason;
}
