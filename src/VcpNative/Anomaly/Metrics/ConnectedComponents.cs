// 8-connected component labelling of a binary mask (skimage.measure.label's default full connectivity in 2-D).
namespace VcpNative.Anomaly.Metrics;

/// <summary>8-connected region labelling of binary masks (the regions of the PRO metric).</summary>
public static class ConnectedComponents
{
    /// <summary>
    /// Labels the non-zero pixels of <paramref name="mask"/> (row-major, height x width) into <paramref name="labels"/>:
    /// 0 = background, 1..count = regions numbered in raster order of their first pixel. <paramref name="parent"/> is
    /// scratch of at least height*width+1 entries (more than the provisional labels any mask can create). Returns the region count.
    /// </summary>
    public static int Label8(ReadOnlySpan<byte> mask, int height, int width, Span<int> labels, Span<int> parent)
    {
        int next = 1;
        for (int y = 0; y < height; y++)
        {
            int row = y * width;
            for (int x = 0; x < width; x++)
            {
                int i = row + x;
                if (mask[i] == 0)
                {
                    labels[i] = 0;
                    continue;
                }

                // Already-visited neighbours: W, NW, N, NE.
                int label = 0;
                if (x > 0 && labels[i - 1] != 0)
                {
                    label = Join(parent, label, labels[i - 1]);
                }

                if (y > 0)
                {
                    int up = i - width;
                    if (x > 0 && labels[up - 1] != 0)
                    {
                        label = Join(parent, label, labels[up - 1]);
                    }

                    if (labels[up] != 0)
                    {
                        label = Join(parent, label, labels[up]);
                    }

                    if (x + 1 < width && labels[up + 1] != 0)
                    {
                        label = Join(parent, label, labels[up + 1]);
                    }
                }

                if (label == 0)
                {
                    label = next++;
                    parent[label] = label;
                }

                labels[i] = label;
            }
        }

        // Flatten provisional labels to consecutive final ones (roots are always smaller than their children).
        int count = 0;
        for (int l = 1; l < next; l++)
        {
            int root = Find(parent, l);
            parent[l] = root == l ? -(++count) : parent[root];
        }

        for (int i = 0; i < height * width; i++)
        {
            if (labels[i] != 0)
            {
                labels[i] = -parent[labels[i]];
            }
        }

        return count;
    }

    private static int Find(Span<int> parent, int l)
    {
        while (parent[l] != l && parent[l] > 0)
        {
            int grand = parent[parent[l]];
            if (grand > 0)
            {
                parent[l] = grand;
            }

            l = parent[l];
        }

        return l;
    }

    // Union of the current candidate label with a neighbour's label; the smaller root wins.
    private static int Join(Span<int> parent, int current, int neighbour)
    {
        int b = Find(parent, neighbour);
        if (current == 0)
        {
            return b;
        }

        int a = Find(parent, current);
        if (a == b)
        {
            return a;
        }

        if (a < b)
        {
            parent[b] = a;
            return a;
        }

        parent[a] = b;
        return b;
    }
}
