// The tail of the authors' cal_pro_score: keep FPR < 0.3, min-max rescale FPR by the kept range, sklearn.metrics.auc.
namespace VcpNative.Anomaly.Metrics;

/// <summary>The AUPRO integration of the authors' cal_pro_score.</summary>
public static class AuthorsAuproCurve
{
    /// <summary>FPR limit of the integrated part of the PRO curve.</summary>
    public const double ExpectFpr = 0.3;

    /// <summary>
    /// fpr[i], pro[i] per threshold (ascending thresholds, so fpr is non-increasing). Undefined where upstream returns NaN
    /// (fewer than 2 kept points raises in sklearn; a flat kept FPR gives 0/0).
    /// </summary>
    public static MetricValue Integrate(ReadOnlySpan<double> fpr, ReadOnlySpan<double> pro)
    {
        int kept = 0;
        double min = double.PositiveInfinity;
        double max = double.NegativeInfinity;
        for (int i = 0; i < fpr.Length; i++)
        {
            if (fpr[i] < ExpectFpr)
            {
                kept++;
                min = Math.Min(min, fpr[i]);
                max = Math.Max(max, fpr[i]);
            }
        }

        if (kept < 2)
        {
            return MetricValue.Undefined($"only {kept} AUPRO threshold(s) have FPR < 0.3; sklearn.metrics.auc needs 2");
        }

        if (max == min)
        {
            return MetricValue.Undefined("all AUPRO thresholds with FPR < 0.3 have the same FPR; the min-max rescale divides 0 by 0");
        }

        // np.trapz(y, x) over the kept points in threshold order; x is non-increasing, so sklearn's auc flips the sign.
        double range = max - min;
        double area = 0;
        double prevX = double.NaN;
        double prevY = 0;
        bool any = false;
        for (int i = 0; i < fpr.Length; i++)
        {
            if (!(fpr[i] < ExpectFpr))
            {
                continue;
            }

            double x = (fpr[i] - min) / range;
            if (any)
            {
                area += (x - prevX) * (pro[i] + prevY) / 2.0;
            }

            prevX = x;
            prevY = pro[i];
            any = true;
        }

        return MetricValue.Defined(-area);
    }
}
