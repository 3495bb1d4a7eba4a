// Results of one class: threshold-free ranking metrics plus the F1-best threshold and its IoU, and both AUPRO variants.
namespace VcpNative.Anomaly.Metrics;

/// <summary>
/// All values in [0, 1] (the upstream tables print x100). <see cref="Aupro"/> is the authors' cal_pro_score (200 linear
/// thresholds, FPR min-max rescaled); <see cref="AuproAt30"/> is the MVTec-AD standard (exact curve, FPR in [0, 0.3] / 0.3).
/// Both are undefined for image-level results.
/// </summary>
public sealed record BinaryRankingResult(
    MetricValue AuRoc,
    MetricValue AveragePrecision,
    MetricValue F1Max,
    MetricValue F1Threshold,
    MetricValue IouAtF1Threshold,
    MetricValue Aupro,
    MetricValue AuproAt30);
