// Covers the large-bucket (histogram) path of PixelMetrics, which the small golden fixtures never reach, against independent references.
using VcpNative.Anomaly.Metrics;
using Xunit;

namespace VcpNative.Tests.Anomaly.Metrics;

public class PixelMetricsConsistencyTests
{
    [Fact]
    public void HeavilyTiedLargeBucketMatchesSimpleSortAndRankSum()
    {
        // 4 x 128 x 128 scores within 3000 ulps of 0.5: one 16-bit bucket holding 65536 pixels, many ties.
        const int n = 4, h = 128, w = 128;
        var rng = new Random(11);
        var maps = new float[n * h * w];
        var masks = new byte[maps.Length];
        for (int i = 0; i < maps.Length; i++)
        {
            bool anomalous = (i / (h * w)) % 2 == 0 && (i % w) > 100 && ((i / w) % h) > 90;
            masks[i] = anomalous ? (byte)1 : (byte)0;
            int k = rng.Next(0, 3000) + (anomalous ? rng.Next(0, 800) : 0);
            maps[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(0.5f) + k);
        }

        BinaryRankingResult pixel = PixelMetrics.Compute(maps, masks, n, h, w);
        BinaryRankingResult simple = RankingMetrics.Evaluate(maps, masks, F1Variant.PixelWithEpsilon);

        // Same formulas, different grouping code: only summation order differs.
        Assert.Equal(simple.AuRoc.Value, pixel.AuRoc.Value, 1e-12);
        Assert.Equal(simple.AveragePrecision.Value, pixel.AveragePrecision.Value, 1e-12);
        Assert.Equal(simple.F1Max.Value, pixel.F1Max.Value, 1e-12);
        Assert.Equal(simple.F1Threshold.Value, pixel.F1Threshold.Value);
        Assert.Equal(simple.IouAtF1Threshold.Value, pixel.IouAtF1Threshold.Value, 1e-12);

        // Independent AUROC: Mann-Whitney U with mid-ranks for ties, in float64.
        Assert.Equal(RankSumAuroc(maps, masks), pixel.AuRoc.Value, 1e-9);

        // Independent IoU at the returned threshold with the strict '>' of the authors' code.
        long inter = 0, union = 0;
        for (int i = 0; i < maps.Length; i++)
        {
            bool pred = maps[i] > pixel.F1Threshold.Value;
            inter += pred && masks[i] != 0 ? 1 : 0;
            union += pred || masks[i] != 0 ? 1 : 0;
        }

        Assert.Equal((double)inter / union, pixel.IouAtF1Threshold.Value, 1e-12);
    }

    private static double RankSumAuroc(float[] scores, byte[] labels)
    {
        int[] order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        double rankSum = 0;
        long pos = 0;
        int a = 0;
        while (a < order.Length)
        {
            int b = a;
            while (b + 1 < order.Length && scores[order[b + 1]] == scores[order[a]])
            {
                b++;
            }

            double midRank = ((a + 1) + (b + 1)) / 2.0;
            for (int k = a; k <= b; k++)
            {
                if (labels[order[k]] != 0)
                {
                    rankSum += midRank;
                    pos++;
                }
            }

            a = b + 1;
        }

        long neg = scores.Length - pos;
        return (rankSum - (pos * (pos + 1) / 2.0)) / ((double)pos * neg);
    }
}
