// sklearn-compatible ranking metrics on small score arrays (image-level scores): one sort, ties grouped, one streaming pass.
namespace VcpNative.Anomaly.Metrics;

/// <summary>
/// roc_auc_score, average_precision_score and the authors' F1-max on a score vector and 0/1 labels (any non-zero label
/// counts as anomalous). For pixel stacks use <see cref="PixelMetrics"/>, which avoids the per-call sort cost on 5e7 pixels.
/// </summary>
public static class RankingMetrics
{
    /// <summary>Area under the ROC curve of <paramref name="scores"/> against 0/1 <paramref name="labels"/>; undefined without both classes.</summary>
    public static MetricValue RocAuc(ReadOnlySpan<float> scores, ReadOnlySpan<byte> labels) =>
        Evaluate(scores, labels, F1Variant.ImageNoEpsilon).AuRoc;

    /// <summary>Average precision of <paramref name="scores"/> against 0/1 <paramref name="labels"/>; undefined without positives.</summary>
    public static MetricValue AveragePrecision(ReadOnlySpan<float> scores, ReadOnlySpan<byte> labels) =>
        Evaluate(scores, labels, F1Variant.ImageNoEpsilon).AveragePrecision;

    /// <summary>F1-max and its threshold T[argmax] from precision_recall_curve, with the chosen upstream formula.</summary>
    public static (MetricValue F1Max, MetricValue Threshold) F1Max(ReadOnlySpan<float> scores, ReadOnlySpan<byte> labels, F1Variant variant)
    {
        BinaryRankingResult r = Evaluate(scores, labels, variant);
        return (r.F1Max, r.F1Threshold);
    }

    /// <summary>All ranking metrics in one sort. AUPRO fields are undefined (they need pixel masks).</summary>
    public static BinaryRankingResult Evaluate(ReadOnlySpan<float> scores, ReadOnlySpan<byte> labels, F1Variant variant) =>
        Evaluate(scores, labels, variant, recordCurve: false).Result;

    /// <summary>As <see cref="Evaluate(ReadOnlySpan{float}, ReadOnlySpan{byte}, F1Variant)"/>; with <paramref name="recordCurve"/> also the walk's vertices.</summary>
    internal static (BinaryRankingResult Result, RankingCurve Curve) Evaluate(ReadOnlySpan<float> scores, ReadOnlySpan<byte> labels, F1Variant variant, bool recordCurve)
    {
        if (scores.Length != labels.Length)
        {
            throw new ArgumentException($"scores has {scores.Length} entries but labels has {labels.Length}");
        }

        if (scores.Length == 0)
        {
            throw new ArgumentException("no scores given");
        }

        var keys = new uint[scores.Length];
        var positive = new byte[scores.Length];
        long positives = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (float.IsNaN(scores[i]))
            {
                throw new ArgumentException($"score {i} is NaN");
            }

            keys[i] = SortableFloatKey.ToKey(scores[i]);
            positive[i] = labels[i] != 0 ? (byte)1 : (byte)0;
            positives += positive[i];
        }

        Array.Sort(keys, positive);
        var acc = new RankingCurveAccumulator(positives, scores.Length - positives, 0, variant, recordCurve);
        int end = keys.Length;
        while (end > 0)
        {
            uint key = keys[end - 1];
            int start = end - 1;
            while (start > 0 && keys[start - 1] == key)
            {
                start--;
            }

            long pos = 0;
            for (int i = start; i < end; i++)
            {
                pos += positive[i];
            }

            acc.AddGroup(SortableFloatKey.FromKey(key), pos, end - start - pos, 0);
            end = start;
        }

        return (acc.Finish(MetricValue.Undefined("AUPRO needs pixel masks")), new RankingCurve(positives, scores.Length - positives, 0, acc.CurvePoints));
    }
}
