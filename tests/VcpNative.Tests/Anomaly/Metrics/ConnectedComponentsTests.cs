// Checks 8-connected labelling against a breadth-first flood fill, and min-max normalisation against a float32 loop.
using VcpNative.Anomaly.Metrics;
using Xunit;

namespace VcpNative.Tests.Anomaly.Metrics;

public class ConnectedComponentsTests
{
    [Theory]
    [InlineData(1, 17, 23, 0.5)]
    [InlineData(2, 31, 9, 0.3)]
    [InlineData(3, 40, 40, 0.55)]
    [InlineData(4, 1, 30, 0.5)]
    public void LabelsMatchFloodFillPartition(int seed, int height, int width, double density)
    {
        var rng = new Random(seed);
        var mask = new byte[height * width];
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = rng.NextDouble() < density ? (byte)255 : (byte)0;
        }

        var labels = new int[mask.Length];
        int count = ConnectedComponents.Label8(mask, height, width, labels, new int[mask.Length + 1]);
        int[] reference = FloodFill(mask, height, width, out int referenceCount);

        Assert.Equal(referenceCount, count);
        // Same partition: a bijection between our labels and the flood-fill labels, background kept at 0; numbering in raster order.
        var map = new Dictionary<int, int>();
        int nextExpected = 1;
        for (int i = 0; i < mask.Length; i++)
        {
            Assert.Equal(reference[i] == 0, labels[i] == 0);
            if (labels[i] == 0)
            {
                continue;
            }

            if (!map.TryGetValue(reference[i], out int mine))
            {
                Assert.Equal(nextExpected++, labels[i]);
                map[reference[i]] = labels[i];
            }
            else
            {
                Assert.Equal(mine, labels[i]);
            }
        }
    }

    [Fact]
    public void DiagonalTouchIsOneRegion()
    {
        byte[] mask = [1, 0, 0, 0, 1, 0, 0, 0, 1];
        Assert.Equal(1, ConnectedComponents.Label8(mask, 3, 3, new int[9], new int[10]));
    }

    private static int[] FloodFill(byte[] mask, int h, int w, out int count)
    {
        var labels = new int[mask.Length];
        count = 0;
        var queue = new Queue<int>();
        for (int s = 0; s < mask.Length; s++)
        {
            if (mask[s] == 0 || labels[s] != 0)
            {
                continue;
            }

            labels[s] = ++count;
            queue.Enqueue(s);
            while (queue.Count > 0)
            {
                int p = queue.Dequeue();
                int py = p / w, px = p % w;
                for (int dy = -1; dy <= 1; dy++)
                {
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int y = py + dy, x = px + dx;
                        if (y >= 0 && y < h && x >= 0 && x < w && mask[(y * w) + x] != 0 && labels[(y * w) + x] == 0)
                        {
                            labels[(y * w) + x] = count;
                            queue.Enqueue((y * w) + x);
                        }
                    }
                }
            }
        }

        return labels;
    }
}

public class MinMaxNormalizationTests
{
    [Fact]
    public void MatchesFloat32Formula()
    {
        var rng = new Random(7);
        var v = new float[1000];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)(rng.NextDouble() * 3 - 1);
        }

        float min = v.Min(), max = v.Max();
        float[] expected = v.Select(x => (x - min) / (max - min)).ToArray();
        MinMaxNormalization.NormalizeInPlace(v);
        Assert.Equal(expected, v); // bit-exact: same float32 subtract and divide as numpy on a float32 array
    }

    [Fact]
    public void FlatInputBecomesZeros()
    {
        float[] v = [0.25f, 0.25f, 0.25f];
        MinMaxNormalization.NormalizeInPlace(v);
        Assert.Equal(new float[3], v);
    }
}
