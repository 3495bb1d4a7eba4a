// Validation between training epochs: the current heads evaluated on another dataset, summarised as the authors log it.
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Training;

/// <summary>Class means of pixel AP (what the authors log per epoch) and pixel AUROC; classes where a metric is undefined are left out of its mean.</summary>
public sealed record ValidationSummary(double PixelAp, double PixelAuroc, int Classes, int Images, int Failures);

/// <summary>Validation of a trainer's current heads on a labelled dataset.</summary>
public static class TrainingValidation
{
    /// <summary>
    /// Runs <paramref name="trainer"/>'s inference over <paramref name="samples"/> (per-class metrics as in eval). Unreadable
    /// images are counted and reported through <paramref name="onFailure"/>, not fatal.
    /// </summary>
    public static ValidationSummary Run(IHeadTrainer trainer, IBackend backend, IReadOnlyList<DatasetSample> samples, int batchSize,
        Action<string, Exception>? onFailure = null, Action<int>? onBatchDone = null)
    {
        var failures = 0;
        var rows = DatasetEvaluation.Run(trainer.Inference(), backend, samples, batchSize, new EvaluationEvents
        {
            ImageFailed = (path, e) =>
            {
                failures++;
                onFailure?.Invoke(path, e);
            },
            BatchDone = onBatchDone,
        });
        return new ValidationSummary(ClassMean(rows, r => r.ApPx), ClassMean(rows, r => r.AurocPx), rows.Count, rows.Sum(r => r.Images), failures);
    }

    private static double ClassMean(IReadOnlyList<ClassMetrics> rows, Func<ClassMetrics, Metrics.MetricValue> metric)
    {
        var defined = rows.Select(metric).Where(v => v.IsDefined).ToList();
        return defined.Count == 0 ? double.NaN : defined.Average(v => v.Value);
    }
}
