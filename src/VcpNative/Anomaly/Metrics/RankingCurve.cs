// The ROC, PR and PRO curves of one ranking walk, read from the vertices the metrics' own walk recorded.
namespace VcpNative.Anomaly.Metrics;

/// <summary>
/// The recorded vertices (<see cref="CurvePoint"/>, descending score) of the walk that computed a class's metrics, with the
/// totals they are read against. Curves start at the origin and end where the walk ended (FPR = TPR = 1).
/// </summary>
internal sealed record RankingCurve(long Positives, long Negatives, long Regions, IReadOnlyList<CurvePoint> Points)
{
    /// <summary>FPR and TPR per vertex, from (0, 0); empty without both classes.</summary>
    public (double[] Fpr, double[] Tpr) Roc()
    {
        if (Positives == 0 || Negatives == 0)
        {
            return ([], []);
        }
        var fpr = new double[Points.Count + 1];
        var tpr = new double[Points.Count + 1];
        for (var i = 0; i < Points.Count; i++)
        {
            fpr[i + 1] = (double)Points[i].Fp / Negatives;
            tpr[i + 1] = (double)Points[i].Tp / Positives;
        }
        return (fpr, tpr);
    }

    /// <summary>Recall and precision per vertex with at least one positive above it (sklearn's curve also starts at precision 1, recall 0); empty without positives.</summary>
    public (double[] Recall, double[] Precision) PrecisionRecall()
    {
        var recall = new List<double>();
        var precision = new List<double>();
        if (Positives == 0)
        {
            return ([], []);
        }
        recall.Add(0);
        precision.Add(1);
        foreach (var p in Points)
        {
            if (p.Tp > 0)
            {
                recall.Add((double)p.Tp / Positives);
                precision.Add((double)p.Tp / (p.Tp + p.Fp));
            }
        }
        return ([.. recall], [.. precision]);
    }

    /// <summary>
    /// The standard PRO curve (FPR, mean per-region overlap) from (0, 0) up to FPR <paramref name="fprLimit"/>, the last point
    /// interpolated on the limit as aupro30 integrates it; empty without anomalous regions or normal pixels.
    /// </summary>
    public (double[] Fpr, double[] Pro) Pro(double fprLimit)
    {
        if (Regions == 0 || Negatives == 0)
        {
            return ([], []);
        }
        var fpr = new List<double> { 0 };
        var pro = new List<double> { 0 };
        foreach (var p in Points)
        {
            var x = Math.Min((double)p.Fp / Negatives, 1.0);
            var y = Math.Min(p.Pro / Regions, 1.0);
            if (x > fprLimit)
            {
                var (x0, y0) = (fpr[^1], pro[^1]);
                fpr.Add(fprLimit);
                pro.Add(y0 + ((y - y0) * (fprLimit - x0) / (x - x0)));
                break;
            }
            fpr.Add(x);
            pro.Add(y);
        }
        return ([.. fpr], [.. pro]);
    }
}
