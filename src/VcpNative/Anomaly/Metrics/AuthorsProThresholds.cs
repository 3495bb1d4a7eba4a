// Reproduces the threshold list of the authors' cal_pro_score: numpy.arange(min, max, (max-min)/200) on float32 maps.
namespace VcpNative.Anomaly.Metrics;

/// <summary>
/// numpy 1.24 details that decide which pixels are "> th":
/// min/max are float32 scalars; (max - min) is a float32 subtraction; dividing by the Python int 200 promotes to float64.
/// arange's length is ceil(float64(max - min) / delta) (can be 201); values are start, start + delta, then
/// start + i * ((start + delta) - start) in float64 (numpy's DOUBLE_fill). Finally `amaps > th` with a float32 array and a
/// float64 scalar compares in float32 (value-based casting), so each threshold is rounded to float32 before comparing.
/// </summary>
public static class AuthorsProThresholds
{
    /// <summary>Thresholds the authors sweep between the map's min and max.</summary>
    public const int DefaultSteps = 200;

    /// <summary>The float64 thresholds numpy produces; empty when max == min (numpy raises there, the metric is undefined).</summary>
    public static double[] Compute(float min, float max, int steps = DefaultSteps)
    {
        double range = (double)(max - min);
        if (!(range > 0))
        {
            return [];
        }

        double delta = range / steps;
        int length = (int)Math.Ceiling(range / delta);
        var th = new double[length];
        double start = min;
        th[0] = start;
        if (length > 1)
        {
            th[1] = start + delta;
            double fillDelta = th[1] - start;
            for (int i = 2; i < length; i++)
            {
                th[i] = start + (i * fillDelta);
            }
        }

        return th;
    }

    /// <summary>The thresholds as numpy compares them against a float32 map (rounded to float32; non-decreasing).</summary>
    public static float[] AsComparedWithFloat32(double[] thresholds)
    {
        var f = new float[thresholds.Length];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = (float)thresholds[i];
        }

        return f;
    }
}
