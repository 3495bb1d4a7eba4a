// The reports' ROC/PR/PRO curves are the vertices of the very walk that computes the metrics: their areas give the metrics
// back (exactly when every vertex is kept, closely when the grid thins a pixel curve), and recording changes no metric.
using VcpNative.Anomaly.Metrics;
using Xunit;

namespace VcpNative.Tests.Anomaly.Metrics;

public class ReportCurveTests
{
    private static double Trapezoid(double[] x, double[] y)
    {
        double area = 0;
        for (var i = 1; i < x.Length; i++)
        {
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        }
        return area;
    }

    [Fact]
    public void ImageCurvesKeepEveryVertexAndTheirAreasAreTheMetrics()
    {
        var random = new Random(5);
        var scores = new float[60];
        var labels = new byte[60];
        for (var i = 0; i < scores.Length; i++)
        {
            labels[i] = (byte)(i % 2);
            // Rounded to tenths so that many scores tie (groups mixing both labels).
            scores[i] = MathF.Round((float)random.NextDouble() + (labels[i] * 0.3f), 1);
        }
        var (result, curve) = RankingMetrics.Evaluate(scores, labels, F1Variant.ImageNoEpsilon, recordCurve: true);
        Assert.Equal(result, RankingMetrics.Evaluate(scores, labels, F1Variant.ImageNoEpsilon));

        var (fpr, tpr) = curve.Roc();
        Assert.Equal((0.0, 0.0), (fpr[0], tpr[0]));
        Assert.Equal((1.0, 1.0), (fpr[^1], tpr[^1]));
        // Same trapezoids as the accumulator, summed in a different order: equal to rounding.
        Assert.Equal(result.AuRoc.Value, Trapezoid(fpr, tpr), 12);

        // AP = sum (R_n - R_{n-1}) P_n over the PR vertices.
        var (recall, precision) = curve.PrecisionRecall();
        double ap = 0;
        for (var i = 1; i < recall.Length; i++)
        {
            ap += (recall[i] - recall[i - 1]) * precision[i];
        }
        Assert.Equal(result.AveragePrecision.Value, ap, 12);
    }

    [Fact]
    public void PixelCurvesAreThinnedToAFewHundredPointsAndStillGiveTheAreas()
    {
        const int n = 12, size = 64;
        var random = new Random(9);
        var maps = new float[n * size * size];
        var masks = new byte[maps.Length];
        for (var img = 0; img < n; img++)
        {
            // A square defect in every other image, scored higher on average than its surroundings.
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    var i = (img * size * size) + (y * size) + x;
                    var defect = img % 2 == 1 && x >= 20 && x < 20 + img && y >= 10 && y < 30;
                    masks[i] = defect ? (byte)1 : (byte)0;
                    maps[i] = (float)random.NextDouble() + (defect ? 0.4f : 0f);
                }
            }
        }
        var plain = PixelMetrics.Compute(maps, masks, n, size, size);
        var (result, curve) = PixelMetrics.Compute(maps, masks, n, size, size, recordCurve: true);
        Assert.Equal(plain, result);
        Assert.InRange(curve.Points.Count, 50, 520);
        Assert.Equal(curve.Points.OrderByDescending(p => p.Score).ToList(), curve.Points);

        var (fpr, tpr) = curve.Roc();
        Assert.Equal((1.0, 1.0), (fpr[^1], tpr[^1]));
        // Thinning keeps a vertex in every grid cell (1/128 in TPR, 1/240 or finer in FPR): chords stay within ~1% of the area.
        Assert.Equal(result.AuRoc.Value, Trapezoid(fpr, tpr), 0.01);
        var (proFpr, pro) = curve.Pro(0.3);
        Assert.Equal(0.3, proFpr[^1], 12);
        Assert.Equal(result.AuproAt30.Value, Trapezoid(proFpr, pro) / 0.3, 0.02);

        // The parallel bucket walk records the same points every time.
        var again = PixelMetrics.Compute(maps, masks, n, size, size, recordCurve: true).Curve;
        Assert.Equal(curve.Points, again.Points);
    }
}
