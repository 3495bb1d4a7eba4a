// One vertex of a ranking walk (counts at or above a score), as recorded for the reports' ROC, PR and PRO curves.
namespace VcpNative.Anomaly.Metrics;

/// <summary>
/// TP, FP and the summed PRO weight of everything scored at or above <see cref="Score"/>: a vertex of the exact ROC, PR
/// and PRO curves of the walk that computed the metrics.
/// </summary>
internal readonly record struct CurvePoint(long Tp, long Fp, double Pro, float Score)
{
    /// <summary>
    /// Keeps a curve small without changing what it shows: a vertex is kept when it enters a new cell of a grid over FPR
    /// (160 cells up to FPR 0.3, where the PRO curve is read, 80 above), TPR (128) and PRO (128), so at most ~500
    /// vertices, in the same place for any split of the walk (cells depend only on absolute counts).
    /// </summary>
    public readonly record struct Grid(long Positives, long Negatives, long Regions)
    {
        public (int Fpr, int Tpr, int Pro) Cell(long tp, long fp, double pro)
        {
            var fpr = Negatives > 0 ? (double)fp / Negatives : 0;
            var fprCell = fpr < 0.3 ? (int)(fpr / 0.3 * 160) : 160 + (int)((fpr - 0.3) / 0.7 * 80);
            var tprCell = Positives > 0 ? (int)((double)tp / Positives * 128) : 0;
            var proCell = Regions > 0 ? (int)(Math.Min(pro / Regions, 1.0) * 128) : 0;
            return (fprCell, tprCell, proCell);
        }
    }
}
