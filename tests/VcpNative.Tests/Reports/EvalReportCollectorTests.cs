// Which images eval's report shows per class: exactly the false positives and false negatives at the image F1-best
// threshold, worst first, at most the cap of each; each with its four thumbnails written under report_files/.
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Reports;
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.Reports;

public class EvalReportCollectorTests
{
    // Found by a search for scores whose image F1-best threshold (0.35) leaves 5 good images at or above it and 2
    // anomalous ones below, with good images below it too: F1 there is 16/23, every other cut is lower.
    private static readonly float[] GoodScores = [0.1f, 0.88f, 0.99f, 0.69f, 0.91f, 0.57f, 0.31f, 0.18f, 0.3f, 0.15f];
    private static readonly float[] AnomalousScores = [0.37f, 0.05f, 0.04f, 0.9f, 0.85f, 0.81f, 0.35f, 0.45f, 0.54f, 0.79f];

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    public void ShowsTheWrongImagesAtTheF1BestThresholdWorstFirstUpToTheCap(int cap)
    {
        using var temp = new TempDirectory("eval-report-collector");
        const int Size = 8;
        var samples = new List<DatasetSample>();
        var maps = new List<float[]>();
        var masks = new List<byte[]>();
        var scores = new List<float>();
        var labels = new List<byte>();
        var random = new Random(1);
        foreach (var (score, anomalous) in GoodScores.Select(s => (s, false)).Concat(AnomalousScores.Select(s => (s, true))))
        {
            var path = Path.Combine(temp.Path, $"{samples.Count:D2}.png");
            PngEncoder.Write(path, new RgbImage(12, 12, [.. Enumerable.Range(0, 12 * 12 * 3).Select(i => (byte)(i * 7))]));
            samples.Add(new DatasetSample("widget", path, null, anomalous, anomalous ? "dent" : "good", DatasetSplit.Test));
            maps.Add([.. Enumerable.Range(0, Size * Size).Select(_ => (float)random.NextDouble())]);
            masks.Add([.. Enumerable.Range(0, Size * Size).Select(p => (byte)(anomalous && p % Size < 3 && p / Size < 3 ? 1 : 0))]);
            scores.Add(score);
            labels.Add(anomalous ? (byte)1 : (byte)0);
        }
        var (row, curves) = ClassMetrics.ComputeWithCurves("widget", [.. maps.SelectMany(m => m)], [.. masks.SelectMany(m => m)], Size, [.. scores], [.. labels],
            ClassNormalisation.None, recordCurves: true);
        Assert.Equal(0.35f, (float)curves.ImageThreshold.Value);

        var collector = new EvalReportCollector(Path.Combine(temp.Path, "out"), cap);
        collector.Add(row, curves, new ScoredClass(samples, maps, masks, scores, labels, Size, ClassNormalisation.None));

        var shown = Assert.Single(collector.Classes);
        // Good at or above 0.35, highest first; anomalous below it, lowest first (0.3 and 0.31 are good and below: not shown).
        Assert.Equal(new[] { 0.99f, 0.91f, 0.88f, 0.69f, 0.57f }.Take(cap), shown.FalsePositives.Select(w => w.Score));
        Assert.Equal([0.04f, 0.05f], shown.FalseNegatives.Select(w => w.Score));
        Assert.All(shown.FalsePositives, w => Assert.False(w.Anomalous));
        Assert.All(shown.FalseNegatives, w => Assert.True(w.Anomalous));
        foreach (var w in shown.FalsePositives.Concat(shown.FalseNegatives))
        {
            Assert.Equal(["image", "ground truth", "map (viridis)", "overlay (jet)"], w.Thumbnails.Select(t => t.Caption));
            Assert.All(w.Thumbnails, t => Assert.True(File.Exists(Path.Combine(temp.Path, "out", Uri.UnescapeDataString(t.Url))), t.Url));
        }
    }

    [Fact]
    public void AClassWithoutAnomalousImagesShowsNone()
    {
        using var temp = new TempDirectory("eval-report-collector");
        const int Size = 4;
        var samples = Enumerable.Range(0, 3).Select(i => new DatasetSample("plain", Path.Combine(temp.Path, $"{i}.png"), null, false, "good", DatasetSplit.Test)).ToList();
        var maps = samples.Select(_ => new float[Size * Size]).ToList();
        var masks = samples.Select(_ => new byte[Size * Size]).ToList();
        float[] scores = [0.2f, 0.9f, 0.5f];
        byte[] labels = [0, 0, 0];
        var (row, curves) = ClassMetrics.ComputeWithCurves("plain", new float[3 * Size * Size], new byte[3 * Size * Size], Size, scores, labels,
            ClassNormalisation.None, recordCurves: true);
        var collector = new EvalReportCollector(Path.Combine(temp.Path, "out"));
        collector.Add(row, curves, new ScoredClass(samples, maps, masks, scores, labels, Size, ClassNormalisation.None));
        Assert.Empty(collector.Classes[0].FalsePositives);
        Assert.Empty(collector.Classes[0].FalseNegatives);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "out", HtmlReportPage.FilesFolder)));
    }
}
