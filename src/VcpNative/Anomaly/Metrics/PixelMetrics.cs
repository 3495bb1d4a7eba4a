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
/// <item>Pass C: anomalous pixels sorted by key (usually a few percent of the pixels).</item>
/// <item>Pass D (parallel over buckets): each bucket's normal pixels are counted per distinct key (histogram when large,
///   in-place sort when small) and merged with the bucket's anomalous pixels into a <see cref="RankingCurveAccumulator"/>
///   started from the bucket's prefix counts; the partial sums are joined in score order, so results do not depend on threads.</item>
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

    /// <summary>Pixel metrics of <paramref name="imageCount"/> maps and 0/1 masks of height x width, row-major, image after image.</summary>
    public static BinaryRankingResult Compute(ReadOnlyMemory<float> maps, ReadOnlyMemory<byte> masks, int imageCount, int height, int width) =>
        Compute(maps, masks, imageCount, height, width, recordCurve: false).Result;

    /// <summary>
    /// As <see cref="Compute(ReadOnlyMemory{float}, ReadOnlyMemory{byte}, int, int, int)"/>; with <paramref name="recordCurve"/>
    /// also the walk's vertices (<see cref="CurvePoint"/>, thinned by its grid) and the totals the curves are read against.
    /// </summary>
    internal static (BinaryRankingResult Result, RankingCurve Curve) Compute(ReadOnlyMemory<float> maps, ReadOnlyMemory<byte> masks, int imageCount, int height, int width,
        bool recordCurve)
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

        var job = new Job(maps, masks, imageCount, height, width, recordCurve);
        Parallel.For(0, job.ChunkCount, job.PassA);
        job.PrepareScatter();
        Parallel.For(0, job.ChunkCount, job.PassB);
        job.SortPositives();
        var result = job.Walk(out var curve);
        return (result, curve);
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
        private readonly bool _recordCurve;

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
        private int[] _posBucketStart = [];
        private long[] _tpStart = [];
        private long[] _fpStart = [];
        private double[] _proStart = [];
        private RankingCurveAccumulator[] _partials = [];
        private long _regions;
        private long[][] _imageNegBins = [];

        public Job(ReadOnlyMemory<float> maps, ReadOnlyMemory<byte> masks, int imageCount, int height, int width, bool recordCurve)
        {
            _recordCurve = recordCurve;
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

        // Start state of every bucket (the walk goes from the highest bucket down), so buckets can be walked in parallel.
        private void PrepareBucketWalk()
        {
            _posBucketStart = new int[BucketCount + 1];
            for (int i = 0; i < _posKeys.Length; i++)
            {
                _posBucketStart[(_posKeys[i] >> 16) + 1]++;
            }

            for (int b = 0; b < BucketCount; b++)
            {
                _posBucketStart[b + 1] += _posBucketStart[b];
            }

            _tpStart = new long[BucketCount];
            _fpStart = new long[BucketCount];
            _proStart = new double[BucketCount];
            long tp = 0, fp = 0;
            double pro = 0;
            for (int b = BucketCount - 1; b >= 0; b--)
            {
                _tpStart[b] = tp;
                _fpStart[b] = fp;
                _proStart[b] = pro;
                for (int i = _posBucketStart[b + 1] - 1; i >= _posBucketStart[b]; i--)
                {
                    pro += _posWeights[i];
                }

                tp += _posBucketStart[b + 1] - _posBucketStart[b];
                fp += _bucketCount[b];
            }

            _partials = new RankingCurveAccumulator[BucketCount];
        }

        private int[] WalkBucket(int bucket, ParallelLoopState state, int[] counts)
        {
            int posFirst = _posBucketStart[bucket];
            int p = _posBucketStart[bucket + 1] - 1;
            int n = _bucketCount[bucket];
            if (n == 0 && p < posFirst)
            {
                return counts;
            }

            var acc = RankingCurveAccumulator.ResumeAt(_positives, _negatives, _regions, F1Variant.PixelWithEpsilon, _tpStart[bucket], _fpStart[bucket], _proStart[bucket],
                _recordCurve);
            int segStart = _bucketStart[bucket];
            bool counting = n >= CountingSortMinimum;
            if (counting)
            {
                for (int i = segStart; i < segStart + n; i++)
                {
                    counts[_negLows[i]]++;
                }
            }
            else
            {
                _negLows.AsSpan(segStart, n).Sort();
            }

            // Normal pixels of this bucket, highest low key first: either a histogram cursor or a sorted-run cursor.
            int v = BucketCount;
            int index = segStart + n - 1;
            int negLow = -1;
            int negRun = 0;
            NextNegative(counting, counts, segStart, ref v, ref index, ref negLow, ref negRun);
            uint high = (uint)bucket << 16;
            while (negLow >= 0 || p >= posFirst)
            {
                int low = p >= posFirst ? Math.Max(negLow, (int)(_posKeys[p] & 0xFFFF)) : negLow;
                uint key = high | (uint)low;
                long posCount = 0;
                double weight = 0;
                while (p >= posFirst && _posKeys[p] == key)
                {
                    posCount++;
                    weight += _posWeights[p];
                    p--;
                }

                long negCount = 0;
                if (negLow == low)
                {
                    negCount = negRun;
                    NextNegative(counting, counts, segStart, ref v, ref index, ref negLow, ref negRun);
                }

                acc.AddGroup(SortableFloatKey.FromKey(key), posCount, negCount, weight);
            }

            _partials[bucket] = acc;
            return counts;
        }

        // Advances to the next lower distinct normal-pixel key; the histogram is zeroed as it is read so it is clean for the next bucket.
        private void NextNegative(bool counting, int[] counts, int segStart, ref int v, ref int index, ref int low, ref int run)
        {
            if (counting)
            {
                while (--v >= 0)
                {
                    if (counts[v] != 0)
                    {
                        low = v;
                        run = counts[v];
                        counts[v] = 0;
                        return;
                    }
                }

                low = -1;
                return;
            }

            if (index < segStart)
            {
                low = -1;
                return;
            }

            ushort value = _negLows[index];
            int first = index;
            while (first > segStart && _negLows[first - 1] == value)
            {
                first--;
            }

            low = value;
            run = index - first + 1;
            index = first - 1;
        }

        public BinaryRankingResult Walk(out RankingCurve curve)
        {
            _regions = 0;
            for (int c = 0; c < ChunkCount; c++)
            {
                _regions += _chunkRegions[c];
            }

            PrepareBucketWalk();
            Parallel.For(0, BucketCount, () => new int[BucketCount], WalkBucket, static _ => { });
            var acc = new RankingCurveAccumulator(_positives, _negatives, _regions, F1Variant.PixelWithEpsilon, _recordCurve);
            for (int b = BucketCount - 1; b >= 0; b--)
            {
                if (_bucketCount[b] != 0 || _posBucketStart[b + 1] != _posBucketStart[b])
                {
                    acc.AppendLowerRange(_partials[b]);
                }
            }

            curve = new RankingCurve(_positives, _negatives, _regions, acc.CurvePoints);
            return acc.Finish(AuthorsAupro(_regions));
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
}
