// Golden tests of the metrics against sklearn 1.2 / the authors' cal_pro_score / MVTec AUPRO@0.3 (tools/golden/make_metric_fixtures.py).
using System.Runtime.InteropServices;
using System.Text.Json;
using VcpNative.Anomaly.Metrics;
using Xunit;

namespace VcpNative.Tests.Anomaly.Metrics;

public class MetricGoldenTests
{
    // The references are float64 numpy/sklearn; ours differ only in summation order (and exact integer ROC sums), far below 1e-6.
    private const double Tolerance = 1e-6;

    private static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "metrics");

    public static TheoryData<string> Cases(string kind)
    {
        var data = new TheoryData<string>();
        foreach (string name in File.ReadAllLines(Path.Combine(FixtureDir, "manifest.txt")))
        {
            if (name.StartsWith(kind, StringComparison.Ordinal))
            {
                data.Add(name);
            }
        }

        return data;
    }

    public static TheoryData<string> PixelCases() => Cases("pixel_");

    public static TheoryData<string> ImageCases() => Cases("image_");

    private static JsonElement Reference(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDir, name + ".json"))).RootElement;

    private static float[] Floats(string file) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(FixtureDir, file))).ToArray();

    private static byte[] Bytes(string file) => File.ReadAllBytes(Path.Combine(FixtureDir, file));

    private static void AssertMatches(JsonElement reference, string field, MetricValue actual, string name)
    {
        JsonElement expected = reference.GetProperty(field);
        if (expected.ValueKind == JsonValueKind.Null)
        {
            Assert.False(actual.IsDefined, $"{name}.{field}: reference is undefined but got {actual}");
            Assert.True(double.IsNaN(actual.Value));
            Assert.False(string.IsNullOrWhiteSpace(actual.UndefinedReason));
            return;
        }

        Assert.True(actual.IsDefined, $"{name}.{field}: expected {expected.GetDouble()} but got {actual}");
        Assert.True(Math.Abs(expected.GetDouble() - actual.Value) <= Tolerance, $"{name}.{field}: expected {expected.GetDouble():R}, got {actual.Value:R}");
    }

    [Theory]
    [MemberData(nameof(PixelCases))]
    public void PixelMetricsMatchSklearnAndAuthorsCode(string name)
    {
        JsonElement reference = Reference(name);
        int[] shape = reference.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        BinaryRankingResult r = PixelMetrics.Compute(Floats(name + ".maps.f32"), Bytes(name + ".masks.u8"), shape[0], shape[1], shape[2]);
        AssertMatches(reference, "auroc", r.AuRoc, name);
        AssertMatches(reference, "ap", r.AveragePrecision, name);
        AssertMatches(reference, "f1", r.F1Max, name);
        AssertMatches(reference, "iou", r.IouAtF1Threshold, name);
        AssertMatches(reference, "aupro", r.Aupro, name);
        AssertMatches(reference, "aupro30", r.AuproAt30, name);
        if (reference.GetProperty("threshold").ValueKind != JsonValueKind.Null)
        {
            // The threshold is a map value, so it must be bit-identical, not merely close.
            Assert.Equal((float)reference.GetProperty("threshold").GetDouble(), (float)r.F1Threshold.Value);
        }
    }

    [Theory]
    [MemberData(nameof(PixelCases))]
    public void AuproThresholdsReproduceNumpyArangeExactly(string name)
    {
        JsonElement reference = Reference(name);
        float[] maps = Floats(name + ".maps.f32");
        double[] expected = reference.GetProperty("thresholds").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        double[] actual = AuthorsProThresholds.Compute(maps.Min(), maps.Max());
        Assert.Equal(expected, actual); // exact: the same float64 operations in the same order as numpy's arange fill
    }

    [Theory]
    [MemberData(nameof(ImageCases))]
    public void ImageMetricsMatchSklearnAndAuthorsCode(string name)
    {
        JsonElement reference = Reference(name);
        float[] scores = Floats(name + ".scores.f32");
        byte[] labels = Bytes(name + ".labels.u8");
        AssertMatches(reference, "auroc", RankingMetrics.RocAuc(scores, labels), name);
        AssertMatches(reference, "ap", RankingMetrics.AveragePrecision(scores, labels), name);
        AssertMatches(reference, "f1", RankingMetrics.F1Max(scores, labels, F1Variant.ImageNoEpsilon).F1Max, name);
        AssertMatches(reference, "f1_eps", RankingMetrics.F1Max(scores, labels, F1Variant.PixelWithEpsilon).F1Max, name);
    }

    [Fact]
    public void EmptyMaskClassReportsReasonInsteadOfThrowing()
    {
        MetricValue auroc = PixelMetrics.Compute(new float[] { 0.1f, 0.5f, 0.2f, 0.9f }, new byte[4], 1, 2, 2).AuRoc;
        Assert.False(auroc.IsDefined);
        Assert.Contains("no anomalous", auroc.UndefinedReason, StringComparison.Ordinal);
    }
}
