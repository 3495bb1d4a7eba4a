// One metric value that may be undefined (e.g. AUROC of a class without anomalies), carrying the reason instead of throwing.
namespace VcpNative.Anomaly.Metrics;

/// <summary>A metric value in [0, 1] (not x100), or NaN with a one-line reason when the metric is undefined for the input.</summary>
public readonly record struct MetricValue(double Value, string? UndefinedReason)
{
    public bool IsDefined => UndefinedReason is null;

    public static MetricValue Defined(double value) => new(value, null);

    public static MetricValue Undefined(string reason) => new(double.NaN, reason);

    public override string ToString() => IsDefined ? Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "undefined: " + UndefinedReason;
}
