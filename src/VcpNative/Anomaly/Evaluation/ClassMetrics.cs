// The per-class evaluation: each method's own normalisation, the authors' metric set, plus AUPRO@0.3.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Metrics;

namespace VcpNative.Anomaly.Evaluation;

/// <summary>One row of the metrics table (fractions in [0, 1]); undefined metrics carry their reason.</summary>
public sealed record ClassMetrics(
    string ClassName,
    int Images,
    int AnomalousImages,
    MetricValue AurocPx,
    MetricValue AuproPx,
    MetricValue ApPx,
    MetricValue F1Px,
    MetricValue Iou,
    MetricValue AurocSp,
    MetricValue ApSp,
    MetricValue F1Sp,
    MetricValue Threshold,
    MetricValue Aupro30)
{
    /// <summary>Column keys in the authors' table order (aupro_sp, hard-coded 0 upstream, is left out), then AUPRO@0.3.</summary>
    public static readonly string[] Columns = ["auroc_px", "aupro_px", "ap_px", "f1_px", "iou", "auroc_sp", "ap_sp", "f1_sp", "threshold", "aupro30"];

    /// <summary>The metric of one of the <see cref="Columns"/>.</summary>
    public MetricValue this[string column] => column switch
    {
        "auroc_px" => AurocPx,
        "aupro_px" => AuproPx,
        "ap_px" => ApPx,
        "f1_px" => F1Px,
        "iou" => Iou,
        "auroc_sp" => AurocSp,
        "ap_sp" => ApSp,
        "f1_sp" => F1Sp,
        "threshold" => Threshold,
        "aupro30" => Aupro30,
        _ => throw new ArgumentOutOfRangeException(nameof(column), column, "unknown metric column"),
    };

    /// <summary>
    /// Metrics of one class as the method's authors compute them: with <see cref="ClassNormalisation.MinMaxPerClass"/>
    /// (VCP-CLIP) the smoothed maps are min-max normalised over the whole class stack and the image scores over the
    /// class; with <see cref="ClassNormalisation.None"/> (ViP2-CLIP) the raw maps and scores are used. Then pixel and
    /// image metrics. <paramref name="maps"/> may be normalised in place.
    /// </summary>
    public static ClassMetrics Compute(string className, float[] maps, byte[] masks, int size, float[] scores, byte[] labels,
        ClassNormalisation normalisation = ClassNormalisation.MinMaxPerClass) =>
        ComputeWithCurves(className, maps, masks, size, scores, labels, normalisation, recordCurves: false).Row;

    /// <summary>
    /// As the public overload; with <paramref name="recordCurves"/> also the curves of the very walks that gave the metrics
    /// (for the HTML report), otherwise <see cref="ClassCurves"/> holds empty curves.
    /// </summary>
    internal static (ClassMetrics Row, ClassCurves Curves) ComputeWithCurves(string className, float[] maps, byte[] masks, int size, float[] scores, byte[] labels,
        ClassNormalisation normalisation, bool recordCurves)
    {
        var n = scores.Length;
        if (maps.Length != (long)n * size * size || masks.Length != maps.Length || labels.Length != n)
        {
            throw new ArgumentException($"class {className}: {n} scores, {labels.Length} labels, {maps.Length} map values and {masks.Length} mask values do not agree for {size}x{size} maps");
        }
        var normalisedScores = (float[])scores.Clone();
        if (normalisation == ClassNormalisation.MinMaxPerClass)
        {
            MinMaxNormalization.NormalizeInPlace(maps);
            MinMaxNormalization.NormalizeInPlace(normalisedScores);
        }
        var (pixel, pixelCurve) = PixelMetrics.Compute(maps, masks, n, size, size, recordCurves);
        var (image, imageCurve) = RankingMetrics.Evaluate(normalisedScores, labels, F1Variant.ImageNoEpsilon, recordCurves);
        var anomalous = 0;
        foreach (var l in labels)
        {
            anomalous += l != 0 ? 1 : 0;
        }
        var row = new ClassMetrics(className, n, anomalous, pixel.AuRoc, pixel.Aupro, pixel.AveragePrecision, pixel.F1Max,
            pixel.IouAtF1Threshold, image.AuRoc, image.AveragePrecision, image.F1Max, pixel.F1Threshold, pixel.AuproAt30);
        return (row, new ClassCurves(className, imageCurve, pixelCurve, normalisedScores, labels, image.F1Threshold));
    }
}

/// <summary>
/// One class's curves for the report: image-level (from the scores as the metrics saw them, normalised where the method
/// normalises) and pixel-level walks, the scores and labels for the histogram, and the image F1-best threshold.
/// </summary>
internal sealed record ClassCurves(string ClassName, RankingCurve Image, RankingCurve Pixel, float[] ImageScores, byte[] Labels, MetricValue ImageThreshold);
