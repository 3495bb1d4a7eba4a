// Streams groups of tied scores in descending score order and accumulates ROC AUC, AP, F1-max (+threshold, IoU) and the standard PRO curve area.
namespace VcpNative.Anomaly.Metrics;

/// <summary>
/// One pass over distinct scores, highest first. Each group is every sample sharing one score (one sklearn threshold).
/// Formulas follow sklearn 1.2: ROC trapezoid over distinct thresholds (drop_intermediate only removes collinear points,
/// so the area is the same), AP = sum (R_n - R_{n-1}) P_n, precision_recall_curve F1 with the authors' formulas.
/// </summary>
internal struct RankingCurveAccumulator
{
    private const double StandardProFprLimit = 0.3;

    private readonly long _positives;
    private readonly long _negatives;
    private readonly long _regionCount;
    private readonly F1Variant _f1Variant;

    private long _tp;
    private long _fp;
    private double _proCumulative;

    // Twice the ROC area in units of (1/N)(1/P): sum of dFP * (TP_prev + TP); exact in 64-bit integers for < 3e9 samples.
    private long _rocTwiceArea;
    private double _ap;
    private double _previousRecall;

    private double _bestF1;
    private float _bestThreshold;
    private long _bestTpAbove;
    private long _bestFpAbove;
    private bool _hasBest;

    private double _proPrevX;
    private double _proPrevY;
    private double _proArea;
    private bool _proDone;

    // Curve points for the reports (null: not recorded); the list is made at the first point, so empty buckets allocate nothing.
    private readonly bool _recordCurve;
    private List<CurvePoint>? _curve;
    private (int Fpr, int Tpr, int Pro) _curveCell;

    public RankingCurveAccumulator(long positives, long negatives, long regionCount, F1Variant f1Variant, bool recordCurve = false)
    {
        _positives = positives;
        _negatives = negatives;
        _regionCount = regionCount;
        _f1Variant = f1Variant;
        _bestF1 = double.NegativeInfinity;
        _recordCurve = recordCurve;
    }

    /// <summary>
    /// The walk's points kept by <see cref="CurvePoint.Grid"/> (in descending score order, without the origin); empty
    /// unless the accumulator was made with recordCurve.
    /// </summary>
    public readonly IReadOnlyList<CurvePoint> CurvePoints => _curve ?? (IReadOnlyList<CurvePoint>)[];

    /// <summary>
    /// An accumulator that continues a walk whose higher-scored part (already summed elsewhere) ended with
    /// <paramref name="tp"/>, <paramref name="fp"/> and PRO weight <paramref name="proCumulative"/>. Its area/AP sums start at 0
    /// so that independent score ranges can be walked in parallel and joined with <see cref="AppendLowerRange"/>.
    /// </summary>
    public static RankingCurveAccumulator ResumeAt(long positives, long negatives, long regionCount, F1Variant f1Variant, long tp, long fp, double proCumulative,
        bool recordCurve = false)
    {
        var acc = new RankingCurveAccumulator(positives, negatives, regionCount, f1Variant, recordCurve)
        {
            _tp = tp,
            _fp = fp,
            _proCumulative = proCumulative,
            _previousRecall = positives > 0 ? (double)tp / positives : 1.0,
        };
        if (regionCount > 0 && negatives > 0)
        {
            double x = Math.Min((double)fp / negatives, 1.0);
            acc._proDone = x > StandardProFprLimit;
            acc._proPrevX = x;
            acc._proPrevY = Math.Min(proCumulative / regionCount, 1.0);
        }

        if (recordCurve)
        {
            acc._curveCell = new CurvePoint.Grid(positives, negatives, regionCount).Cell(tp, fp, proCumulative);
        }

        return acc;
    }

    /// <summary>Joins the partial sums of the range of scores just below the ones this accumulator has seen.</summary>
    public void AppendLowerRange(in RankingCurveAccumulator lower)
    {
        _tp = lower._tp;
        _fp = lower._fp;
        _proCumulative = lower._proCumulative;
        _previousRecall = lower._previousRecall;
        _rocTwiceArea += lower._rocTwiceArea;
        _ap += lower._ap;
        _proArea += lower._proArea;
        _proDone |= lower._proDone;
        _proPrevX = lower._proPrevX;
        _proPrevY = lower._proPrevY;
        if (_recordCurve && lower._curve is { Count: > 0 } points)
        {
            (_curve ??= []).AddRange(points);
        }
        _curveCell = lower._curveCell;
        if (lower._hasBest && lower._bestF1 >= _bestF1)
        {
            _bestF1 = lower._bestF1;
            _bestThreshold = lower._bestThreshold;
            _bestTpAbove = lower._bestTpAbove;
            _bestFpAbove = lower._bestFpAbove;
            _hasBest = true;
        }
    }

    /// <summary>Adds the group of samples whose score equals <paramref name="score"/>; must be called with strictly decreasing scores.</summary>
    public void AddGroup(float score, long positives, long negatives, double proWeight)
    {
        long tpAbove = _tp;
        long fpAbove = _fp;
        _tp += positives;
        _fp += negatives;
        _rocTwiceArea += negatives * (tpAbove + _tp);

        // A group without positives leaves recall unchanged (no AP term) and lowers precision, so F1 cannot reach a new
        // maximum: with TP > 0 it strictly drops; with TP = 0 it is 0 (or NaN), below the F1 of the first positive group.
        if (positives != 0)
        {
            double precision = (double)_tp / (_tp + _fp);
            double recall = (double)_tp / _positives;
            _ap += (recall - _previousRecall) * precision;
            _previousRecall = recall;

            double f1 = _f1Variant == F1Variant.PixelWithEpsilon
                ? 2 * precision * recall / (precision + recall + 1e-8)
                : 2 * precision * recall / (precision + recall);

            // '>=' because numpy's argmax takes the first maximum in ascending-threshold order, i.e. the lowest tied threshold.
            if (double.IsFinite(f1) && f1 >= _bestF1)
            {
                _bestF1 = f1;
                _bestThreshold = score;
                _bestTpAbove = tpAbove;
                _bestFpAbove = fpAbove;
                _hasBest = true;
            }
        }

        if (_regionCount > 0 && _negatives > 0)
        {
            _proCumulative += proWeight;
            AddProPoint(Math.Min((double)_fp / _negatives, 1.0), Math.Min(_proCumulative / _regionCount, 1.0));
        }

        if (_recordCurve)
        {
            var cell = new CurvePoint.Grid(_positives, _negatives, _regionCount).Cell(_tp, _fp, _proCumulative);
            if (cell != _curveCell)
            {
                _curveCell = cell;
                (_curve ??= []).Add(new CurvePoint(_tp, _fp, _proCumulative, score));
            }
        }
    }

    // MVTec-AD evaluation: trapezoid over (FPR, PRO) up to FPR = 0.3, interpolating linearly at 0.3 unless a point lies exactly on it.
    private void AddProPoint(double x, double y)
    {
        if (_proDone)
        {
            return;
        }

        if (x <= StandardProFprLimit)
        {
            _proArea += 0.5 * (y + _proPrevY) * (x - _proPrevX);
            _proPrevX = x;
            _proPrevY = y;
            return;
        }

        if (_proPrevX != StandardProFprLimit)
        {
            double yAtLimit = _proPrevY + ((y - _proPrevY) * (StandardProFprLimit - _proPrevX) / (x - _proPrevX));
            _proArea += 0.5 * (yAtLimit + _proPrevY) * (StandardProFprLimit - _proPrevX);
        }

        _proDone = true;
    }

    public readonly BinaryRankingResult Finish(MetricValue authorsAupro)
    {
        const string NoPositives = "no anomalous samples in this class";
        const string NoNegatives = "no normal samples in this class";

        MetricValue auroc = _positives == 0 ? MetricValue.Undefined(NoPositives)
            : _negatives == 0 ? MetricValue.Undefined(NoNegatives)
            : MetricValue.Defined(_rocTwiceArea / (2.0 * _positives * _negatives));
        MetricValue ap = _positives == 0 ? MetricValue.Undefined(NoPositives) : MetricValue.Defined(_ap);
        MetricValue f1 = _positives == 0 || !_hasBest ? MetricValue.Undefined(NoPositives) : MetricValue.Defined(_bestF1);
        MetricValue threshold = f1.IsDefined ? MetricValue.Defined(_bestThreshold) : f1;
        long union = _positives + _bestFpAbove;
        MetricValue iou = !f1.IsDefined ? f1
            : union == 0 ? MetricValue.Undefined("empty prediction and empty ground truth")
            : MetricValue.Defined((double)_bestTpAbove / union);

        MetricValue pro30;
        if (_regionCount == 0)
        {
            pro30 = MetricValue.Undefined("no anomalous regions in this class");
        }
        else if (_negatives == 0)
        {
            pro30 = MetricValue.Undefined(NoNegatives);
        }
        else
        {
            double area = _proArea;
            if (!_proDone)
            {
                // The MVTec curve is closed with the point (1, 1).
                double yAtLimit = _proPrevY + ((1.0 - _proPrevY) * (StandardProFprLimit - _proPrevX) / (1.0 - _proPrevX));
                area += _proPrevX == StandardProFprLimit ? 0 : 0.5 * (yAtLimit + _proPrevY) * (StandardProFprLimit - _proPrevX);
            }

            pro30 = MetricValue.Defined(area / StandardProFprLimit);
        }

        return new BinaryRankingResult(auroc, ap, f1, threshold, iou, authorsAupro, pro30);
    }
}
