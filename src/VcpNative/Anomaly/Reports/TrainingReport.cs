// train's training.html: loss curves (total and per term), learning rate and validation per epoch, from train_log.jsonl.
using System.Globalization;
using System.Text.Json;

namespace VcpNative.Anomaly.Reports;

/// <summary>Where a training run stands when its report is written.</summary>
/// <param name="StepsDone">Optimizer steps done.</param>
/// <param name="TotalSteps">Steps the run will do.</param>
/// <param name="StepsPerEpoch">Steps in one epoch.</param>
/// <param name="Running">True while training goes on: the page reloads itself every 30 s.</param>
internal sealed record TrainingProgress(long StepsDone, long TotalSteps, int StepsPerEpoch, bool Running);

/// <summary>
/// Writes OUT/training.html from OUT/train_log.jsonl (the log is the one source: a resumed run's report shows the steps
/// before the resume too). Rewritten atomically after each epoch and at the end; while the run goes on the page carries
/// a 30 s refresh, which the final write leaves out. A curve longer than <see cref="MaxPoints"/> steps is drawn from
/// means over equal runs of steps, so a 100k-step run's page stays small.
/// </summary>
internal static class TrainingReport
{
    /// <summary>The page, in the training output folder.</summary>
    public const string FileName = "training.html";

    /// <summary>The most points a curve is drawn with.</summary>
    public const int MaxPoints = 1000;

    /// <summary>Writes training.html in <paramref name="output"/> from its train_log.jsonl.</summary>
    /// <param name="output">The training output folder.</param>
    /// <param name="settings">The settings block (name, value), in order.</param>
    /// <param name="progress">Steps done and to do, and whether the run goes on.</param>
    /// <returns>The path of training.html.</returns>
    public static string Write(string output, IReadOnlyList<KeyValuePair<string, string>> settings, TrainingProgress progress)
    {
        var log = ReadLog(Path.Combine(output, "train_log.jsonl"));
        var path = Path.Combine(output, FileName);
        Page(log, settings, progress).WriteAtomically(path);
        return path;
    }

    /// <summary>One step line: step, epoch (1-based), total loss, each term's value (in <see cref="Log.Terms"/> order), learning rate.</summary>
    private sealed record StepLine(long Step, int Epoch, double Loss, double[] Terms, double LearningRate);

    /// <summary>One validation line: the step it followed, pixel AP and AUROC (NaN when the log has null).</summary>
    private sealed record ValidationLine(long Step, double PixelAp, double PixelAuroc);

    private sealed record Log(List<string> Terms, List<StepLine> Steps, List<ValidationLine> Validations);

    /// <summary>Reads the log as it is now; the trainer may be appending to it (a torn last line is left out).</summary>
    private static Log ReadLog(string path)
    {
        var terms = new List<string>();
        var steps = new List<StepLine>();
        var validations = new List<ValidationLine>();
        if (!File.Exists(path))
        {
            return new Log(terms, steps, validations);
        }
        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
        {
            text = reader.ReadToEnd();
        }
        var complete = text.AsSpan(0, text.LastIndexOf('\n') + 1);
        foreach (var range in complete.Split('\n'))
        {
            var line = complete[range];
            if (line.IsWhiteSpace())
            {
                continue;
            }
            using var doc = JsonDocument.Parse(line.ToString());
            var root = doc.RootElement;
            var step = root.GetProperty("step").GetInt64();
            if (root.TryGetProperty("val_ap_px", out var ap))
            {
                validations.Add(new ValidationLine(step, Number(ap), Number(root.GetProperty("val_auroc_px"))));
                continue;
            }
            if (terms.Count == 0)
            {
                // The loss terms are the line's loss_* fields, in the order the trainer writes them.
                foreach (var p in root.EnumerateObject())
                {
                    if (p.Name.StartsWith("loss_", StringComparison.Ordinal))
                    {
                        terms.Add(p.Name);
                    }
                }
            }
            var values = new double[terms.Count];
            for (var i = 0; i < terms.Count; i++)
            {
                values[i] = root.TryGetProperty(terms[i], out var v) ? Number(v) : double.NaN;
            }
            steps.Add(new StepLine(step, root.GetProperty("epoch").GetInt32(), Number(root.GetProperty("loss")), values, Number(root.GetProperty("lr"))));
        }
        return new Log(terms, steps, validations);
    }

    private static double Number(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : double.NaN;

    private static HtmlReportPage Page(Log log, IReadOnlyList<KeyValuePair<string, string>> settings, TrainingProgress progress)
    {
        var inv = CultureInfo.InvariantCulture;
        var page = new HtmlReportPage("Training report");
        if (progress.Running)
        {
            page.AutoRefresh(30);
        }
        var epochs = progress.StepsPerEpoch == 0 ? 0 : (progress.TotalSteps + progress.StepsPerEpoch - 1) / progress.StepsPerEpoch;
        var epochsDone = progress.StepsPerEpoch == 0 ? 0 : progress.StepsDone / progress.StepsPerEpoch;
        page.Raw(string.Create(inv, $"<p class=\"summary\" id=\"status\">{(progress.Running ? "Running" : "Finished")}: step <span id=\"steps-done\">{progress.StepsDone}</span> of <span id=\"steps-total\">{progress.TotalSteps}</span>, epoch {epochsDone} of {epochs} done.</p>"));
        if (progress.Running)
        {
            page.Paragraph("This page is rewritten after each epoch and reloads itself every 30 s.", note: true);
        }

        page.Heading(2, "Loss and learning rate");
        if (log.Steps.Count == 0)
        {
            page.Paragraph("No step is logged yet.");
        }
        else
        {
            var (x, every) = Thin(log.Steps.Select(s => (double)s.Step).ToList());
            var colours = SvgPlot.Viridis(log.Terms.Count + 1);
            var loss = new SvgPlot("Loss", "step", "loss", width: 640);
            AddLine(loss, "loss (total)", x, Thin(log.Steps.Select(s => s.Loss).ToList()).Values, colours[0]);
            for (var t = 0; t < log.Terms.Count; t++)
            {
                var term = t;
                AddLine(loss, log.Terms[t], x, Thin(log.Steps.Select(s => s.Terms[term]).ToList()).Values, colours[t + 1]);
            }
            var lrs = Thin(log.Steps.Select(s => s.LearningRate).ToList()).Values;
            var lrMax = lrs.Where(double.IsFinite).DefaultIfEmpty(1).Max();
            // From 0, so a constant rate is a level line at its value (not the middle of a range around it).
            var lr = new SvgPlot("Learning rate", "step", "learning rate").Limits(x[0], Math.Max(x[^1], x[0] + 1), 0, lrMax > 0 ? lrMax * 1.15 : 1);
            AddLine(lr, "learning rate", x, lrs, SvgPlot.ViridisAt(0.3), "lr");
            page.BeginFigures()
                .Figure(loss, every > 1 ? $"Total loss and its terms; each point is the mean of {every} consecutive steps." : "Total loss and its terms, per step.")
                .Figure(lr, "Learning rate of the heads and prompts, per step.")
                .EndFigures();
        }

        if (log.Validations.Count > 0)
        {
            var stepEpoch = new Dictionary<long, int>();
            foreach (var s in log.Steps)
            {
                stepEpoch[s.Step] = s.Epoch;
            }
            var x = log.Validations.Select(v => stepEpoch.TryGetValue(v.Step, out var e) ? e : (double)v.Step / Math.Max(1, progress.StepsPerEpoch)).ToList();
            var validation = new SvgPlot("Validation", "epoch", "class mean", width: 640).Limits(Math.Min(1, x.Min()), Math.Max(x.Max(), Math.Min(1, x.Min()) + 1), 0, 1);
            AddLine(validation, "pixel AP", x, log.Validations.Select(v => v.PixelAp).ToList(), SvgPlot.ViridisAt(0.1), "validation");
            AddLine(validation, "pixel AUROC", x, log.Validations.Select(v => v.PixelAuroc).ToList(), SvgPlot.ViridisAt(0.6), "validation");
            page.Heading(2, "Validation").Figure(validation, "Pixel AP and AUROC on the validation data after each epoch (means over classes).");
        }

        page.Heading(2, "Epochs");
        var rows = new List<TableRow>();
        foreach (var group in log.Steps.GroupBy(s => s.Epoch))
        {
            var last = group.Last();
            var validation = log.Validations.LastOrDefault(v => v.Step == last.Step);
            var mean = group.Average(s => s.Loss);
            rows.Add(new TableRow(group.Key.ToString(inv),
            [
                new TableCell(group.Key.ToString(inv), group.Key),
                new TableCell(group.First().Step.ToString(inv) + "\u2013" + last.Step.ToString(inv), last.Step),
                new TableCell(mean.ToString("F4", inv), mean),
                new TableCell(last.Loss.ToString("F4", inv), last.Loss),
                Percent(validation?.PixelAp),
                Percent(validation?.PixelAuroc),
            ]));
        }
        page.Table("epochs", ["epoch", "steps", "mean loss", "last loss", "val pixel AP %", "val pixel AUROC %"], rows);

        page.Heading(2, "Settings").Settings(settings);
        return page;
    }

    /// <summary>A curve of the points whose y is a number (a NaN loss or an undefined AP leaves a gap out, not a broken path).</summary>
    private static void AddLine(SvgPlot plot, string label, IReadOnlyList<double> x, IReadOnlyList<double> y, string colour, string? dataClass = null)
    {
        var xs = new List<double>(x.Count);
        var ys = new List<double>(y.Count);
        for (var i = 0; i < x.Count; i++)
        {
            if (double.IsFinite(y[i]))
            {
                xs.Add(x[i]);
                ys.Add(y[i]);
            }
        }
        plot.Line(label, xs, ys, colour, dataClass: dataClass ?? "loss");
    }

    private static TableCell Percent(double? value) => value switch
    {
        null => new TableCell(""),
        double v when double.IsNaN(v) => new TableCell("n/a", Title: "no class with both labels"),
        double v => new TableCell((100 * v).ToString("F2", CultureInfo.InvariantCulture), v),
    };

    /// <summary>At most <see cref="MaxPoints"/> values: means over runs of <c>every</c> consecutive ones (NaNs left out of a mean).</summary>
    private static (List<double> Values, int Every) Thin(List<double> values)
    {
        var every = (values.Count + MaxPoints - 1) / MaxPoints;
        if (every <= 1)
        {
            return (values, 1);
        }
        var thinned = new List<double>(MaxPoints);
        for (var start = 0; start < values.Count; start += every)
        {
            var (sum, n) = (0.0, 0);
            for (var i = start; i < Math.Min(values.Count, start + every); i++)
            {
                if (!double.IsNaN(values[i]))
                {
                    (sum, n) = (sum + values[i], n + 1);
                }
            }
            thinned.Add(n == 0 ? double.NaN : sum / n);
        }
        return (thinned, every);
    }
}
