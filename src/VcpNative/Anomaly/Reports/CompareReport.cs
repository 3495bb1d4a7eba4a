// compare's OUT/report.html: every head's metrics side by side per class, and per class the heads' curves overlaid.
using System.Globalization;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Metrics;

namespace VcpNative.Anomaly.Reports;

/// <summary>Writes compare's report.html from the heads' rows and the curves their evaluations recorded.</summary>
internal static class CompareReport
{
    /// <summary>
    /// Writes <paramref name="outputFolder"/>/report.html atomically and returns its path. <paramref name="reports"/> holds,
    /// index-aligned with <paramref name="heads"/>, what each head's own report showed (its curves).
    /// </summary>
    public static string Write(string outputFolder, IReadOnlyList<ComparedHead> heads, IReadOnlyList<IReadOnlyList<ClassReport>> reports,
        IEnumerable<KeyValuePair<string, string>> settings)
    {
        var page = new HtmlReportPage("Comparison report: " + string.Join(" vs ", heads.Select(h => h.Label)));
        var colours = SvgPlot.Viridis(heads.Count);
        page.Paragraph("Each head evaluated as eval does (its own report is in its folder); one colour per head: "
            + string.Join(", ", heads.Select((h, i) => $"{h.Label} = {Path.GetFileName(h.Head)}")) + ".", note: true);

        page.Heading(2, "Metrics side by side", "metrics-heading");
        page.Paragraph("Per class, one row per head; then each head's mean over classes. The same numbers and column names as each head's metrics.json "
            + "(percentages, except threshold).", note: true);
        var columns = new List<string> { "class", "head", "images" };
        columns.AddRange(ClassMetrics.Columns);
        var rows = new List<TableRow>();
        var classNames = new List<string>();
        foreach (var h in heads)
        {
            foreach (var r in h.Rows)
            {
                if (!classNames.Contains(r.ClassName))
                {
                    classNames.Add(r.ClassName);
                }
            }
        }
        foreach (var name in classNames)
        {
            foreach (var h in heads)
            {
                if (h.Rows.FirstOrDefault(r => r.ClassName == name) is { } row)
                {
                    rows.Add(Row($"{name}|{h.Label}", name, h.Label, row.Images, c => row[c]));
                }
            }
        }
        foreach (var h in heads)
        {
            var mean = MetricsReport.Mean(h.Rows);
            rows.Add(Row($"mean|{h.Label}", "mean", h.Label, h.Rows.Sum(r => r.Images), c => mean[c], "mean"));
        }
        page.Table("compare", columns, rows);

        page.Heading(2, "Curves per class", "curves");
        for (var i = 0; i < classNames.Count; i++)
        {
            var name = classNames[i];
            var sets = new List<EvalReport.CurveSet>();
            for (var k = 0; k < heads.Count; k++)
            {
                if (reports[k].FirstOrDefault(c => c.Row.ClassName == name) is { } c)
                {
                    sets.Add(new EvalReport.CurveSet(heads[k].Label, heads[k].Label, colours[k], c.Row, c.Curves));
                }
            }
            page.Raw($"<section class=\"class-compare\" id=\"class-{i}\" data-class=\"{HtmlReportPage.Escape(name)}\">");
            page.Heading(3, name);
            page.BeginFigures();
            EvalReport.CurveFigures(page, sets, $"-{i}");
            page.EndFigures();
            page.Raw("</section>");
        }

        page.Heading(2, "Settings", "settings-heading");
        page.Settings(settings);
        var path = Path.Combine(outputFolder, EvalReport.FileName);
        page.WriteAtomically(path);
        return path;
    }

    private static TableRow Row(string key, string className, string head, int images, Func<string, MetricValue> value, string? cssClass = null)
    {
        var cells = new List<TableCell> { new(className), new(head), new(images.ToString(CultureInfo.InvariantCulture), images) };
        foreach (var c in ClassMetrics.Columns)
        {
            cells.Add(EvalReport.Cell(value(c), c));
        }
        return new TableRow(key, cells, cssClass);
    }
}
