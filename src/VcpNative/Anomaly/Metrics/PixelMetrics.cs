// Pixel-level metrics of one class (AUROC, AP, F1-max, threshold, IoU, authors' AUPRO, AUPRO@0.3) from one bucketed sort of all pixels.
namespace VcpNative.Anomaly.Metrics;

/// <summary>
/// Exact sklearn/authors-code pixel metrics for a stack of N maps (H x W, float32) and masks (non-zero = anomalous).
/// Algorithm, chosen so 200 x 518 x 518 = 5.4e7 pixels take one sort instead of one per metric and 200 AUPRO passes:
/// <list type="number">
/// <item>Pass A (parallel over image chunks): min/max, NaN check, histogram of normal pixels by the top 16 bits of their sortable key.</item>
/// <item>Pass B (parallel): 8-connected regions per mask; normal pixels scattered as 16-bit low keys into their bucket;
///   anomalous pixels stored as (key, 1/region area); every pixel also counted in its authors' AUPRO threshold bin
///   (bin = number of float32-rounded numpy thresholds strictly below the score, so bin > i  &lt;=&gt;  score > th_i).</item>
/// <item>Pass C: each normal bucket sorted in place (counting sort when large); anomalous pixels sorted by key.</item>
/// <item>Pass D: one merge walk over distinct scores, highest first, feeding <see cref="RankingCurveAccumulator"/>.</item>
/// </list>
/// </summary>
public static class PixelMetrics
{
    private const int BucketCount = 1 << 16;
    private const int CountingSortMinimum = 1 << 14;
    private const int MaxChunks = 16;

    /// <summary>Convenience overload for contiguous arrays [N*H*W].</summary>
    public static BinaryRankingResult Compute(float[] maps, byte[] masks, int imageCount, int height, int width) =>
        Compute(maps.AsMemory(), masks.AsMemory(), imageCount, height, width);

    public static BinaryRankingResult Compute(ReadOnlyMemory<float> maps, ReadOnlyMemory<byte> masks, int imageCount, int height, int width)
    {
        long pixelsPerImage = (long)height * width;
        if (imageCount <= 0 || height <= 0 || width <= 0)
        {
            throw new ArgumentException($"pixel metrics need at least one non-empty map; got {imageCount} maps of {height}x{width}");
        }

        if (maps.Length != imageCount * pixelsPerImage || masks.Length != imageCount * pixelsPerImage)
        {
            throw new ArgumentException($"expected {imageCount}x{height}x{width} = {imageCount * pixelsPerImage} values; maps has {maps.Length}, masks has {masks.Length}");
        }

        var job = new Job(maps, masks, imageCount, height, width);
        Parallel.For(0, job.ChunkCount, job.PassA);
        job.PrepareScatter();
        Parallel.For(0, job.ChunkCount, job.PassB);
        Parallel.Invoke(job.SortPositives, job.SortNegativeBuckets);
        return job.Walk();
    }

    /// <summary>The per-class state of one computation; methods are the parallel passes (instance methods, not closures).</summary>
    private sealed class Job
    {
        private readonly ReadOnlyMemory<float> _maps;
        private readonly ReadOnlyMemory<byte> _masks;
        private readonly int _imageCount;
        private readonly int _height;
        private readonly int _width;
        private readonly int _pixels;
        public readonly int ChunkCount;

        private readonly float[] _chunkMin;
        private readonly float[] _chunkMax;
        private readonly int[][] _chunkNegHist;
        private readonly long[] _chunkPositives;
        private readonly long[] _chunkRegions;

        private float _min;
        private float _max;
        private float[] _thresholds = [];
        private double _thresholdStart;
        private double _thresholdInvStep;

        private int[] _bucketStart = [];
        private int[] _bucketCount = [];
        private long[] _chunkPosStart = [];
        private ushort[] _negLows = [];
        private uint[] _posKeys = [];
        private double[] _posWeights = [];
        private long _positives;
        private long _negatives;

        // Authors' AUPRO: per image, per threshold bin: summed 1/area of anomalous pixels, and the count of normal pixels.
        private double[][] _imageProWeight = [];
        private long[][] _imageNegBins = [];

        public Job(ReadOnlyMemory<float> maps, ReadOnlyMemory<byte> masks, int imageCount, int height, int width)
        {
            _maps = maps;
            _masks = masks;
            _imageCount = imageCount;
            _height = height;
            _width = width;
            _pixels = height * width;
            ChunkCount = Math.Min(imageCount, MaxChunks);
            _chunkMin = new float[ChunkCount];
            _chunkMax = new float[ChunkCount];
            _chunkNegHist = new int[ChunkCount][];
            _chunkPositives = new long[ChunkCount];
            _chunkRegions = new long[ChunkCount];
        }

        private (int First, int End) ChunkImages(int chunk) =>
            ((int)((long)chunk * _imageCount / ChunkCount), (int)((long)(chunk + 1) * _imageCount / ChunkCount));

        public void PassA(int chunk)
        {
            (int first, int end) = ChunkImages(chunk);
            ReadOnlySpan<float> map = _maps.Span.Slice(first * _pixels, (end - first) * _pixels);
            ReadOnlySpan<byte> mask = _masks.Span.Slice(first * _pixels, (end - first) * _pixels);
            var hist = new int[BucketCount];
            float min = float.PositiveInfinity;
            float max = float.NegativeInfinity;
            long positives = 0;
            for (int i = 0; i < map.Length; i++)
            {
                float v = map[i];
                if (float.IsNaN(v))
                {
                    throw new ArgumentException($"anomaly map {first + (i / _pixels)} has a NaN at pixel {i % _pixels}");
                }

                min = Math.Min(min, v);
                max = Math.Max(max, v);
                if (mask[i] != 0)
                {
                    positives++;
                }
                else
                {
                    hist[SortableFloatKey.ToKey(v) >> 16]++;
                }
            }

            _chunkMin[chunk] = min;
            _chunkMax[chunk] = max;
            _chunkNegHist[chunk] = hist;
            _chunkPositives[chunk] = positives;
        }

        public void PrepareScatter()
        {
            _min = float.PositiveInfinity;
            _max = float.NegativeInfinity;
            for (int c = 0; c < ChunkCount; c++)
            {
                _min = Math.Min(_min, _chunkMin[c]);
                _max = Math.Max(_max, _chunkMax[c]);
            }

            double[] th = AuthorsProThresholds.Compute(_min, _max);
            _thresholds = AuthorsProThresholds.AsComparedWithFloat32(th);
            _thresholdStart = _min;
            _thresholdInvStep = th.Length > 1 ? 1.0 / (th[1] - th[0]) : 0;

            // Bucket offsets; each chunk's histogram becomes its write cursor inside every bucket.
            _bucketStart = new int[BucketCount];
            _bucketCount = new int[BucketCount];
            long offset = 0;
            for (int b = 0; b < BucketCount; b++)
            {
                _bucketStart[b] = (int)offset;
                for (int c = 0; c < ChunkCount; c++)
                {
                    int n = _chunkNegHist[c][b];
                    _chunkNegHist[c][b] = (int)offset;
                    offset += n;
                }

                _bucketCount[b] = (int)(offset - _bucketStart[b]);
            }

            _negatives = offset;
            _chunkPosStart = new long[ChunkCount];
            for (int c = 0; c < ChunkCount; c++)
            {
                _chunkPosStart[c] = _positives;
                _positives += _chunkPositives[c];
            }

            _negLows = new ushort[_negatives];
            _posKeys = new uint[_positives];
            _posWeights = new double[_positives];
            _imageProWeight = new double[_imageCount][];
            _imageNegBins = new long[_imageCount][];
        }

        public void PassB(int chunk)
        {
            (int first, int end) = ChunkImages(chunk);
            int[] cursor = _chunkNegHist[chunk];
            var labels = new int[_pixels];
            var parent = new int[_pixels + 1];
            var inverseArea = new double[(_pixels / 2) + 2];
            var area = new int[(_pixels / 2) + 2];
            float[] th = _thresholds;
            int binCount = th.Length + 1;
            long posCursor = _chunkPosStart[chunk];
            long regions = 0;
            for (int img = first; img < end; img++)
            {
                ReadOnlySpan<float> map = _maps.Span.Slice(img * _pixels, _pixels);
                ReadOnlySpan<byte> mask = _masks.Span.Slice(img * _pixels, _pixels);
                int regionCount = ConnectedComponents.Label8(mask, _height, _width, labels, parent);
                regions += regionCount;
                Array.Clear(area, 0, regionCount + 1);
                for (int i = 0; i < _pixels; i++)
                {
                    area[labels[i]]++;
                }

                for (int r = 1; r <= regionCount; r++)
                {
                    inverseArea[r] = 1.0 / area[r];
                }

                var proWeight = new double[binCount];
                var negBins = new long[binCount];
                for (int i = 0; i < _pixels; i++)
                {
                    float v = map[i];
                    uint key = SortableFloatKey.ToKey(v);
                    int bin = ThresholdBin(v, th);
                    int label = labels[i];
                    if (label != 0)
                    {
                        double w = inverseArea[label];
                        _posKeys[posCursor] = key;
                        _posWeights[posCursor] = w;
                        posCursor++;
                        proWeight[bin] += w;
                    }
                    else
                    {
                        _negLows[cursor[key >> 16]++] = (ushort)key;
                        negBins[bin]++;
                    }
                }

                _imageProWeight[img] = proWeight;
                _imageNegBins[img] = negBins;
            }

            _chunkRegions[chunk] = regions;
        }

        // Number of thresholds strictly below v (thresholds are the float32-rounded numpy values, non-decreasing).
        private int ThresholdBin(float v, float[] th)
        {
            int n = th.Length;
            if (n == 0)
            {
                return 0;
            }

            double guess = (v - _thresholdStart) * _thresholdInvStep;
            int b = guess <= 0 ? 0 : guess >= n ? n : (int)guess;
            while (b > 0 && th[b - 1] >= v)
            {
                b--;
            }

            while (b < n && th[b] < v)
            {
                b++;
            }

            return b;
        }

        public void SortPositives() => Array.Sort(_posKeys, _posWeights);

        public void SortNegativeBuckets()
        {
            Parallel.For(0, BucketCount, () => new int[BucketCount], SortBucket, static _ => { });
        }

        private int[] SortBucket(int bucket, ParallelLoopState state, int[] counts)
        {
            int n = _bucketCount[bucket];
            if (n < 2)
            {
                return counts;
            }

            Span<ushort> seg = _negLows.AsSpan(_bucketStart[bucket], n);
            if (n < CountingSortMinimum)
            {
                seg.Sort();
                return counts;
            }

            Array.Clear(counts);
            for (int i = 0; i < seg.Length; i++)
            {
                counts[seg[i]]++;
            }

            int w = 0;
            for (int v = 0; v < BucketCount; v++)
            {
                int c = counts[v];
                if (c != 0)
                {
                    seg.Slice(w, c).Fill((ushort)v);
                    w += c;
                }
            }

            return counts;
        }

        public BinaryRankingResult Walk()
        {
            long regions = 0;
            for (int c = 0; c < ChunkCount; c++)
            {
                regions += _chunkRegions[c];
            }

            var acc = new RankingCurveAccumulator(_positives, _negatives, regions, F1Variant.PixelWithEpsilon);
            var neg = new NegativeRunReader(_negLows, _bucketStart, _bucketCount);
            bool hasNeg = neg.TryNext(out uint negKey, out long negRun);
            long p = _posKeys.Length - 1;
            while (hasNeg || p >= 0)
            {
                uint key = !hasNeg ? _posKeys[p] : p < 0 ? negKey : Math.Max(negKey, _posKeys[p]);
                long posCount = 0;
                double weight = 0;
                while (p >= 0 && _posKeys[p] == key)
                {
                    posCount++;
                    weight += _posWeights[p];
                    p--;
                }

                long negCount = 0;
                if (hasNeg && negKey == key)
                {
                    negCount = negRun;
                    hasNeg = neg.TryNext(out negKey, out negRun);
                }

                acc.AddGroup(SortableFloatKey.FromKey(key), posCount, negCount, weight);
            }

            return acc.Finish(AuthorsAupro(regions));
        }

        // cal_pro_score from the per-image bin histograms: TP/FP at threshold i = everything in bins > i.
        private MetricValue AuthorsAupro(long regions)
        {
            int t = _thresholds.Length;
            if (t == 0)
            {
                return MetricValue.Undefined("all map values are equal, numpy.arange(min, max, 0) has no thresholds");
            }

            if (regions == 0)
            {
                return MetricValue.Undefined("no anomalous regions in this class");
            }

            if (_negatives == 0)
            {
                return MetricValue.Undefined("no normal pixels in this class");
            }

            // Summed in image order so the result does not depend on thread timing.
            var proWeight = new double[t + 1];
            var negBins = new long[t + 1];
            for (int img = 0; img < _imageCount; img++)
            {
                for (int b = 0; b <= t; b++)
                {
                    proWeight[b] += _imageProWeight[img][b];
                    negBins[b] += _imageNegBins[img][b];
                }
            }

            var pro = new double[t];
            var fpr = new double[t];
            double proAbove = 0;
            long negAbove = 0;
            for (int i = t - 1; i >= 0; i--)
            {
                proAbove += proWeight[i + 1];
                negAbove += negBins[i + 1];
                pro[i] = proAbove / regions;
                fpr[i] = (double)negAbove / _negatives;
            }

            return AuthorsAuproCurve.Integrate(fpr, pro);
        }
    }

    /// <summary>Yields (key, run length) of the sorted normal pixels, highest key first, bucket by bucket.</summary>
    private struct NegativeRunReader(ushort[] lows, int[] bucketStart, int[] bucketCount)
    {
        private int _bucket = BucketCount;
        private int _index = -1;
        private int _bucketFirst;

        public bool TryNext(out uint key, out long run)
        {
            while (_index < _bucketFirst)
            {
                if (--_bucket < 0)
                {
                    key = 0;
                    run = 0;
                    return false;
                }

                _bucketFirst = bucketStart[_bucket];
                _index = _bucketFirst + bucketCount[_bucket] - 1;
            }

            ushort low = lows[_index];
            int start = _index;
            while (start > _bucketFirst && lows[start - 1] == low)
            {
                start--;
            }

            run = _index - start + 1;
            _index = start - 1;
            key = ((uint)_bucket << 16) | low;
            return true;
        }
    }
}
