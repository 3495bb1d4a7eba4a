// eval's OUT/report.html: the metrics table, per-class ROC/PR/PRO curves, score histograms, worst-scored images, settings.
using System.Globalization;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Metrics;
using VcpNative.Anomaly.Visualization;
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Reports;

/// <summary>One image of a class on the wrong side of the image F1-best threshold: which, its score as the metrics saw it, and its four thumbnails (URLs relative to the report).</summary>
internal sealed record WorstImage(string ImagePath, float Score, bool Anomalous, IReadOnlyList<(string Url, string Caption)> Thumbnails);

/// <summary>What the report shows of one class: metrics, curves, and its worst false positives and false negatives.</summary>
internal sealed record ClassReport(ClassMetrics Row, ClassCurves Curves, IReadOnlyList<WorstImage> FalsePositives, IReadOnlyList<WorstImage> FalseNegatives);

/// <summary>
/// Collects the report's data class by class as an evaluation runs: the curves (a few hundred points each) and, written at
/// once as PNG thumbnails, the worst false positives and false negatives at the image F1-best threshold; no map is kept after its class.
/// </summary>
internal sealed class EvalReportCollector(string reportFolder, int worstPerKind = EvalReportCollector.WorstPerKind)
{
    /// <summary>Most false positives, and most false negatives, shown per class.</summary>
    public const int WorstPerKind = 3;

    private readonly List<ClassReport> _classes = [];

    /// <summary>The classes collected so far, in evaluation order.</summary>
    public IReadOnlyList<ClassReport> Classes => _classes;

    /// <summary>Adds one finished class (the <see cref="EvaluationEvents"/> ClassReport callback).</summary>
    public void Add(ClassMetrics row, ClassCurves curves, ScoredClass scored)
    {
        var index = _classes.Count;
        var good = new List<int>();
        var anomalous = new List<int>();
        for (var i = 0; i < scored.Labels.Count; i++)
        {
            (scored.Labels[i] != 0 ? anomalous : good).Add(i);
        }
        // The images the image F1-best threshold gets wrong (the metrics' scores; predicted anomalous at or above it), worst
        // first, at most worstPerKind of each: a class it gets right shows none. Ties keep evaluation order, so the choice
        // does not depend on the sort. No threshold (a class without anomalous images): nothing is wrong by it.
        var scores = curves.ImageScores;
        var threshold = curves.ImageThreshold;
        var falsePositives = !threshold.IsDefined ? new List<int>() : good.Where(i => scores[i] >= threshold.Value)
            .OrderByDescending(i => scores[i]).ThenBy(i => i).Take(worstPerKind).ToList();
        var falseNegatives = !threshold.IsDefined ? new List<int>() : anomalous.Where(i => scores[i] < threshold.Value)
            .OrderBy(i => scores[i]).ThenBy(i => i).Take(worstPerKind).ToList();
        var (low, high) = falsePositives.Count + falseNegatives.Count == 0 ? (0f, 1f) : MapScale(scored);
        var folder = $"c{index:D2}-{SafeName(row.ClassName)}";
        // One after another: in parallel they took the same CPU time plus the thread pool's spinning, and the model's
        // own worker threads spun meanwhile (docs/reports.md, "Cost").
        var worstPositives = new WorstImage[falsePositives.Count];
        for (var k = 0; k < worstPositives.Length; k++)
        {
            worstPositives[k] = Thumbnails(scored, curves, falsePositives[k], $"{folder}/fp{k + 1}", low, high);
        }
        var worstNegatives = new WorstImage[falseNegatives.Count];
        for (var k = 0; k < worstNegatives.Length; k++)
        {
            worstNegatives[k] = Thumbnails(scored, curves, falseNegatives[k], $"{folder}/fn{k + 1}", low, high);
        }
        _classes.Add(new ClassReport(row, curves, worstPositives, worstNegatives));
    }

    // The colour scale of the maps: the class's own range where the method normalises per class (the metrics see it so), else [0, 1].
    private static (float Low, float High) MapScale(ScoredClass scored)
    {
        if (scored.Normalisation != ClassNormalisation.MinMaxPerClass)
        {
            return (0f, 1f);
        }
        var low = float.PositiveInfinity;
        var high = float.NegativeInfinity;
        foreach (var map in scored.Maps)
        {
            foreach (var v in map)
            {
                low = Math.Min(low, v);
                high = Math.Max(high, v);
            }
        }
        return (low, high);
    }

    private WorstImage Thumbnails(ScoredClass scored, ClassCurves curves, int i, string stem, float low, float high)
    {
        var size = scored.Size;
        var sample = scored.Samples[i];
        var map = scored.Maps[i];
        var thumbnails = new List<(string Url, string Caption)>();
        RgbImage? image = null;
        try
        {
            image = HtmlReportPage.Downscale(ImageDecoder.DecodeRgb(sample.ImagePath), HtmlReportPage.ThumbnailSide).ToRgb();
        }
        catch (Exception e) when (e is ImageDecodeException or IOException)
        {
            // It was read a moment ago; if it is gone now the strip shows the other three.
        }
        if (image is not null)
        {
            thumbnails.Add((HtmlReportPage.Thumbnail(reportFolder, stem + "-image.png", image), "image"));
        }
        var mask = new GreyImage(size, size);
        var gt = scored.Masks[i];
        for (var p = 0; p < gt.Length; p++)
        {
            mask.Pixels[p] = gt[p] != 0 ? (byte)255 : (byte)0;
        }
        thumbnails.Add((HtmlReportPage.Thumbnail(reportFolder, stem + "-truth.png", mask), "ground truth"));
        thumbnails.Add((HtmlReportPage.Thumbnail(reportFolder, stem + "-map.png", ViridisMap(map, size, low, high)), "map (viridis)"));
        if (image is not null)
        {
            var overlay = HeatmapOverlay.Render(image, MapResize.ToSize(map, size, image.Width, image.Height), 0.5f, low, high);
            thumbnails.Add((HtmlReportPage.Thumbnail(reportFolder, stem + "-overlay.png", overlay), "overlay (jet)"));
        }
        return new WorstImage(sample.ImagePath, curves.ImageScores[i], scored.Labels[i] != 0, thumbnails);
    }

    private static RgbImage ViridisMap(float[] map, int size, float low, float high)
    {
        var image = new RgbImage(size, size);
        for (var p = 0; p < map.Length; p++)
        {
            var (r, g, b) = SvgPlot.ViridisRgb(high > low ? (map[p] - low) / (high - low) : 0);
            image.Pixels[3 * p] = r;
            image.Pixels[(3 * p) + 1] = g;
            image.Pixels[(3 * p) + 2] = b;
        }
        return image;
    }

    // File-name-safe class name (the index in front keeps two classes that clean to the same name apart).
    private static string SafeName(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray();
        return chars.Length == 0 ? "class" : new string(chars[..Math.Min(chars.Length, 40)]);
    }
}

/// <summary>Writes eval's report.html (see docs/reports.md for what each part shows).</summary>
internal static class EvalReport
{
    /// <summary>File name of the report in the output folder.</summary>
    public const string FileName = "report.html";

    /// <summary>FPR up to which the standard PRO curve is integrated (aupro30).</summary>
    public const double ProLimit = 0.3;

    /// <summary>
    /// Removes an earlier run's report.html and its report_files/ from <paramref name="outputFolder"/> (a run with
    /// --no-report). The page goes first, in one unlink, so no reader sees it without its thumbnails.
    /// </summary>
    public static void RemoveStale(string outputFolder)
    {
        File.Delete(Path.Combine(outputFolder, FileName));
        var files = Path.Combine(outputFolder, HtmlReportPage.FilesFolder);
        if (Directory.Exists(files))
        {
            Directory.Delete(files, recursive: true);
        }
    }

    /// <summary>Writes <paramref name="outputFolder"/>/report.html atomically and returns its path.</summary>
    public static string Write(string outputFolder, string method, IReadOnlyList<ClassReport> classes, IEnumerable<KeyValuePair<string, string>> settings)
    {
        var page = new HtmlReportPage($"Evaluation report: {method}");
        var rows = classes.Select(c => c.Row).ToList();
        page.Heading(2, "Metrics", "metrics-heading");
        page.Paragraph("Per class and mean over the classes where a metric is defined; the same numbers and column names as metrics.json. "
            + "Percentages, except threshold (the pixel F1-best threshold on the normalised maps, a fraction); hover an n/a cell for the reason.", note: true);
        MetricsTable(page, "metrics", rows);

        page.Heading(2, "Curves", "curves");
        page.Paragraph("One curve per class (viridis colours); the legend gives each class's area. Image level: from the image scores; "
            + "pixel level: from every pixel of every test image. The PRO curve is drawn to the FPR where aupro30 stops integrating.", note: true);
        var colours = SvgPlot.Viridis(classes.Count);
        var curves = classes.Select((c, i) => new CurveSet(c.Row.ClassName, c.Row.ClassName, colours[i], c.Row, c.Curves)).ToList();
        page.BeginFigures();
        CurveFigures(page, curves, "");
        page.EndFigures();

        page.Heading(2, "Per class", "per-class");
        for (var i = 0; i < classes.Count; i++)
        {
            ClassSection(page, classes[i], i);
        }

        page.Heading(2, "Settings", "settings-heading");
        page.Settings(settings);
        var path = Path.Combine(outputFolder, FileName);
        page.WriteAtomically(path);
        return path;
    }

    /// <summary>One class's curves as drawn in a plot: legend label, data-class, colour, metrics (for the legend's areas) and curves.</summary>
    internal sealed record CurveSet(string Label, string DataClass, string Colour, ClassMetrics Row, ClassCurves Curves);

    /// <summary>
    /// The five figures (image ROC, pixel ROC, image PR, pixel PR, PRO to FPR 0.3), each with one <c>path.curve</c> per
    /// set whose curve is defined; figure ids are <c>roc-image</c>, <c>roc-pixel</c>, <c>pr-image</c>, <c>pr-pixel</c>,
    /// <c>pro</c>, each followed by <paramref name="idSuffix"/>.
    /// </summary>
    internal static void CurveFigures(HtmlReportPage page, IReadOnlyList<CurveSet> sets, string idSuffix)
    {
        var rocImage = new SvgPlot("ROC, image level", "false positive rate", "true positive rate").Limits(0, 1, 0, 1);
        var rocPixel = new SvgPlot("ROC, pixel level", "false positive rate", "true positive rate").Limits(0, 1, 0, 1);
        var prImage = new SvgPlot("Precision-recall, image level", "recall", "precision").Limits(0, 1, 0, 1);
        var prPixel = new SvgPlot("Precision-recall, pixel level", "recall", "precision").Limits(0, 1, 0, 1);
        var pro = new SvgPlot("PRO, pixel level", "false positive rate", "per-region overlap").Limits(0, 0.35, 0, 1);
        rocImage.Line("", [0, 1], [0, 1], "#999999", "reference", dashed: true);
        rocPixel.Line("", [0, 1], [0, 1], "#999999", "reference", dashed: true);
        foreach (var s in sets)
        {
            Curve(rocImage, s, s.Row.AurocSp, s.Curves.Image.Roc());
            Curve(rocPixel, s, s.Row.AurocPx, s.Curves.Pixel.Roc());
            Curve(prImage, s, s.Row.ApSp, s.Curves.Image.PrecisionRecall());
            Curve(prPixel, s, s.Row.ApPx, s.Curves.Pixel.PrecisionRecall());
            Curve(pro, s, s.Row.Aupro30, s.Curves.Pixel.Pro(ProLimit));
        }
        pro.VerticalMarker(ProLimit, "integration limit, FPR 0.3");
        page.Figure(rocImage, "ROC of the image scores; legend: auroc_sp.", "roc-image" + idSuffix);
        page.Figure(rocPixel, "ROC of the pixels; legend: auroc_px.", "roc-pixel" + idSuffix);
        page.Figure(prImage, "Precision-recall of the image scores; legend: ap_sp.", "pr-image" + idSuffix);
        page.Figure(prPixel, "Precision-recall of the pixels; legend: ap_px.", "pr-pixel" + idSuffix);
        page.Figure(pro, "Standard PRO curve (mean overlap of each ground-truth region); legend: aupro30, its area to FPR 0.3 divided by 0.3.", "pro" + idSuffix);
    }

    /// <summary>The table of <see cref="ClassMetrics.Columns"/> per class and the mean row (<c>data-row="mean"</c>), as metrics.json has them.</summary>
    internal static void MetricsTable(HtmlReportPage page, string id, IReadOnlyList<ClassMetrics> rows, Func<ClassMetrics, string>? rowKey = null,
        string firstColumn = "class", IReadOnlyDictionary<string, MetricValue>? mean = null, string meanLabel = "mean")
    {
        string[] columns = ["class", "images", .. ClassMetrics.Columns];
        columns[0] = firstColumn;
        var tableRows = new List<TableRow>();
        foreach (var r in rows)
        {
            var key = rowKey?.Invoke(r) ?? r.ClassName;
            tableRows.Add(new TableRow(key, [new TableCell(key), new TableCell(r.Images.ToString(CultureInfo.InvariantCulture), r.Images),
                .. ClassMetrics.Columns.Select(c => Cell(r[c], c))]));
        }
        mean ??= MetricsReport.Mean(rows);
        tableRows.Add(new TableRow(meanLabel, [new TableCell(meanLabel), new TableCell(rows.Sum(r => r.Images).ToString(CultureInfo.InvariantCulture)),
            .. ClassMetrics.Columns.Select(c => Cell(mean[c], c))], "mean"));
        page.Table(id, columns, tableRows);
    }

    /// <summary>A metric's table cell: percent with 2 decimals (threshold: a fraction with 4), the exact value behind it, or n/a with the reason.</summary>
    internal static TableCell Cell(MetricValue v, string column) =>
        !v.IsDefined ? new TableCell("n/a", null, v.UndefinedReason)
        : column == "threshold" ? new TableCell(v.Value.ToString("F4", CultureInfo.InvariantCulture), v.Value)
        : new TableCell((v.Value * 100).ToString("F2", CultureInfo.InvariantCulture), v.Value);

    // One set's curve in one plot, labelled with its area; an undefined curve (no points) is left out.
    private static void Curve(SvgPlot plot, CurveSet set, MetricValue area, (double[] X, double[] Y) curve)
    {
        if (curve.X.Length > 0)
        {
            plot.Line($"{set.Label} {Area(area)}", curve.X, curve.Y, set.Colour, "curve", set.DataClass);
        }
    }

    private static string Area(MetricValue v) => v.IsDefined ? v.Value.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    private static void ClassSection(HtmlReportPage page, ClassReport c, int index)
    {
        var name = c.Row.ClassName;
        page.Raw($"<section class=\"class-report\" id=\"class-{index}\" data-class=\"{HtmlReportPage.Escape(name)}\">");
        page.Heading(3, $"{name}: {c.Row.Images} images, {c.Row.AnomalousImages} anomalous");
        page.BeginFigures();
        page.Figure(ScoreHistogram(c), c.Curves.ImageThreshold.IsDefined
            ? "Image scores (as the metrics rank them) of good and anomalous images; the dashed line is the image F1-best threshold."
            : "Image scores of good and anomalous images (no F1-best threshold: the class has no anomalous image).", $"histogram-{index}");
        page.EndFigures();
        if (c.Curves.ImageThreshold.IsDefined)
        {
            WorstStrips(page, c.FalsePositives, name, "false-positive", "False positives: good images at or above the image F1-best threshold, highest score first", "No false positive: every good image scores below the image F1-best threshold.", c.Curves.ImageThreshold);
            WorstStrips(page, c.FalseNegatives, name, "false-negative", "False negatives: anomalous images below the image F1-best threshold, lowest score first", "No false negative: every anomalous image scores at or above the image F1-best threshold.", c.Curves.ImageThreshold);
        }
        page.Raw("</section>");
    }

    private static SvgPlot ScoreHistogram(ClassReport c)
    {
        const int Bins = 20;
        var scores = c.Curves.ImageScores;
        var labels = c.Curves.Labels;
        var low = scores.Length == 0 ? 0 : scores.Min();
        var high = scores.Length == 0 ? 1 : scores.Max();
        if (!(high > low))
        {
            (low, high) = (low - 0.5f, low + 0.5f);
        }
        var edges = new double[Bins + 1];
        for (var b = 0; b <= Bins; b++)
        {
            edges[b] = low + ((high - low) * b / (double)Bins);
        }
        var good = new double[Bins];
        var bad = new double[Bins];
        for (var i = 0; i < scores.Length; i++)
        {
            var bin = Math.Clamp((int)((scores[i] - low) / (high - low) * Bins), 0, Bins - 1);
            (labels[i] != 0 ? bad : good)[bin]++;
        }
        var plot = new SvgPlot($"{c.Row.ClassName}: image scores", "image score", "images");
        plot.Histogram("good", edges, good, SvgPlot.ViridisAt(0.0), "histogram", "good");
        plot.Histogram("anomalous", edges, bad, SvgPlot.ViridisAt(0.75), "histogram", "anomalous");
        if (c.Curves.ImageThreshold.IsDefined)
        {
            plot.VerticalMarker(c.Curves.ImageThreshold.Value, $"F1-best {c.Curves.ImageThreshold.Value.ToString("0.###", CultureInfo.InvariantCulture)}", "#b8336a", "threshold");
        }
        return plot;
    }

    private static void WorstStrips(HtmlReportPage page, IReadOnlyList<WorstImage> images, string className, string kind, string title, string none, MetricValue threshold)
    {
        if (images.Count == 0)
        {
            page.Paragraph(none, note: true);
            return;
        }
        page.Paragraph($"{title} (at most {EvalReportCollector.WorstPerKind}):");
        page.BeginFigures();
        foreach (var w in images)
        {
            // The exact score and threshold as data-*, so a test can check the side without parsing the caption.
            page.ImageStrip(w.Thumbnails, "worst " + kind,
                [new("class", className), new("kind", kind), new("score", w.Score.ToString("R", CultureInfo.InvariantCulture)),
                    new("threshold", threshold.Value.ToString("R", CultureInfo.InvariantCulture))],
                $"{Path.GetFileName(w.ImagePath)}: score {w.Score.ToString("0.####", CultureInfo.InvariantCulture)}, threshold {threshold.Value.ToString("0.####", CultureInfo.InvariantCulture)}");
        }
        page.EndFigures();
    }
}
