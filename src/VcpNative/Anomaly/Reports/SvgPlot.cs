// A small inline-SVG plot renderer for the HTML reports: axes with ticks and labels, lines, histogram steps, marker lines, legend.
using System.Globalization;
using System.Text;

namespace VcpNative.Anomaly.Reports;

/// <summary>
/// One chart written as an inline &lt;svg&gt; string; every series is one element with a CSS class and data-* attributes
/// (e.g. <c>class="curve" data-class="bottle"</c>) so a test can count them and a reader can style them.
/// </summary>
/// <remarks>
/// Why our own renderer and not ScottPlot 5 (the well-kept .NET plotting library): ScottPlot 5 draws through SkiaSharp,
/// and libSkiaSharp.so is only an optional companion file of our single NativeAOT binary (loaded for WebP, see
/// IO/Images/WebPDecoder.cs); its text, in SVG as in PNG, is laid out with fonts found on the machine. A report must be
/// written by the bare binary on any machine, byte for byte the same for the same run. Lines, steps and text in SVG need
/// no more than this file; the browser draws the text with its own default sans-serif font, so no font travels either.
/// All numbers are written with the invariant culture. No state is shared between plots.
/// </remarks>
internal sealed class SvgPlot
{
    private const int MarginLeft = 52;
    private const int MarginRight = 12;
    private const int MarginTop = 28;
    private const int MarginBottom = 40;
    private const int LegendWidth = 150;
    private const int LegendRow = 16;

    private readonly string _title;
    private readonly string _xLabel;
    private readonly string _yLabel;
    private readonly int _width;
    private readonly int _height;
    private readonly List<Series> _series = [];
    private readonly List<Marker> _markers = [];
    private double? _xMin, _xMax, _yMin, _yMax;

    /// <summary>An empty plot of <paramref name="width"/> x <paramref name="height"/> CSS pixels (legend included).</summary>
    public SvgPlot(string title, string xLabel, string yLabel, int width = 460, int height = 320)
    {
        _title = title;
        _xLabel = xLabel;
        _yLabel = yLabel;
        _width = width;
        _height = height;
    }

    /// <summary>Fixes the axis ranges (otherwise they span the data, y from 0 for histograms).</summary>
    public SvgPlot Limits(double xMin, double xMax, double yMin, double yMax)
    {
        (_xMin, _xMax, _yMin, _yMax) = (xMin, xMax, yMin, yMax);
        return this;
    }

    /// <summary>A polyline through (x[i], y[i]); <paramref name="cssClass"/> and <paramref name="dataClass"/> name the element.</summary>
    public SvgPlot Line(string label, IReadOnlyList<double> x, IReadOnlyList<double> y, string colour, string cssClass = "curve", string? dataClass = null, bool dashed = false)
    {
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"line '{label}': {x.Count} x values but {y.Count} y values");
        }
        _series.Add(new Series(SeriesKind.Line, label, [.. x], [.. y], colour, cssClass, dataClass, dashed));
        return this;
    }

    /// <summary>
    /// A histogram drawn as a filled step outline: bin i spans [edges[i], edges[i+1]) with height counts[i]
    /// (edges has one more entry than counts).
    /// </summary>
    public SvgPlot Histogram(string label, IReadOnlyList<double> edges, IReadOnlyList<double> counts, string colour, string cssClass = "histogram", string? dataClass = null)
    {
        if (edges.Count != counts.Count + 1)
        {
            throw new ArgumentException($"histogram '{label}': {edges.Count} edges for {counts.Count} bins (needs one more edge than bins)");
        }
        _series.Add(new Series(SeriesKind.Steps, label, [.. edges], [.. counts], colour, cssClass, dataClass, false));
        return this;
    }

    /// <summary>A vertical line at <paramref name="x"/> across the plot, with <paramref name="label"/> written beside its top.</summary>
    public SvgPlot VerticalMarker(double x, string label, string colour = "#333333", string cssClass = "marker")
    {
        _markers.Add(new Marker(x, label, colour, cssClass));
        return this;
    }

    /// <summary>The plot as an &lt;svg&gt; element (no XML prolog), ready to be placed in HTML.</summary>
    public string ToSvg()
    {
        var (xMin, xMax, yMin, yMax) = Ranges();
        var legend = _series.Exists(s => s.Label.Length > 0);
        var plotLeft = MarginLeft;
        var plotTop = MarginTop;
        var plotWidth = _width - MarginLeft - MarginRight - (legend ? LegendWidth : 0);
        var plotHeight = _height - MarginTop - MarginBottom;
        double Px(double v) => plotLeft + ((Math.Clamp(v, xMin, xMax) - xMin) / (xMax - xMin) * plotWidth);
        double Py(double v) => plotTop + plotHeight - ((Math.Clamp(v, yMin, yMax) - yMin) / (yMax - yMin) * plotHeight);

        var sb = new StringBuilder();
        sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"").Append(_width).Append("\" height=\"").Append(_height)
            .Append("\" viewBox=\"0 0 ").Append(_width).Append(' ').Append(_height).Append("\" role=\"img\" aria-label=\"").Append(Escape(_title)).Append("\">");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
        sb.Append("<text class=\"title\" x=\"").Append(N(plotLeft + (plotWidth / 2.0))).Append("\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">")
            .Append(Escape(_title)).Append("</text>");

        // Axes: frame, ticks with labels and light grid lines.
        sb.Append("<g class=\"axes\" font-size=\"10\" fill=\"#222222\">");
        foreach (var t in Ticks(xMin, xMax))
        {
            var x = N(Px(t));
            sb.Append("<line x1=\"").Append(x).Append("\" x2=\"").Append(x).Append("\" y1=\"").Append(plotTop).Append("\" y2=\"").Append(plotTop + plotHeight)
                .Append("\" stroke=\"#e4e4e4\"/>");
            sb.Append("<text x=\"").Append(x).Append("\" y=\"").Append(plotTop + plotHeight + 13).Append("\" text-anchor=\"middle\">").Append(TickLabel(t)).Append("</text>");
        }
        foreach (var t in Ticks(yMin, yMax))
        {
            var y = N(Py(t));
            sb.Append("<line x1=\"").Append(plotLeft).Append("\" x2=\"").Append(plotLeft + plotWidth).Append("\" y1=\"").Append(y).Append("\" y2=\"").Append(y)
                .Append("\" stroke=\"#e4e4e4\"/>");
            sb.Append("<text x=\"").Append(plotLeft - 4).Append("\" y=\"").Append(N(Py(t) + 3)).Append("\" text-anchor=\"end\">").Append(TickLabel(t)).Append("</text>");
        }
        sb.Append("<rect x=\"").Append(plotLeft).Append("\" y=\"").Append(plotTop).Append("\" width=\"").Append(plotWidth).Append("\" height=\"").Append(plotHeight)
            .Append("\" fill=\"none\" stroke=\"#555555\"/>");
        sb.Append("<text class=\"xlabel\" x=\"").Append(N(plotLeft + (plotWidth / 2.0))).Append("\" y=\"").Append(_height - 8).Append("\" text-anchor=\"middle\" font-size=\"11\">")
            .Append(Escape(_xLabel)).Append("</text>");
        sb.Append("<text class=\"ylabel\" transform=\"translate(13 ").Append(N(plotTop + (plotHeight / 2.0))).Append(") rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">")
            .Append(Escape(_yLabel)).Append("</text>");
        sb.Append("</g>");

        foreach (var s in _series)
        {
            sb.Append("<path class=\"").Append(Escape(s.CssClass)).Append('"');
            if (s.DataClass is not null)
            {
                sb.Append(" data-class=\"").Append(Escape(s.DataClass)).Append('"');
            }
            sb.Append(" data-series=\"").Append(Escape(s.Label)).Append("\" d=\"");
            if (s.Kind == SeriesKind.Line)
            {
                for (var i = 0; i < s.X.Length; i++)
                {
                    sb.Append(i == 0 ? 'M' : 'L').Append(N(Px(s.X[i]))).Append(' ').Append(N(Py(s.Y[i])));
                }
                sb.Append("\" fill=\"none\" stroke=\"").Append(s.Colour).Append("\" stroke-width=\"1.8\"");
                if (s.Dashed)
                {
                    sb.Append(" stroke-dasharray=\"5 3\"");
                }
            }
            else
            {
                var baseY = N(Py(Math.Max(yMin, 0)));
                sb.Append('M').Append(N(Px(s.X[0]))).Append(' ').Append(baseY);
                for (var i = 0; i < s.Y.Length; i++)
                {
                    var top = N(Py(s.Y[i]));
                    sb.Append('L').Append(N(Px(s.X[i]))).Append(' ').Append(top).Append('L').Append(N(Px(s.X[i + 1]))).Append(' ').Append(top);
                }
                sb.Append('L').Append(N(Px(s.X[^1]))).Append(' ').Append(baseY).Append("Z\" fill=\"").Append(s.Colour)
                    .Append("\" fill-opacity=\"0.35\" stroke=\"").Append(s.Colour).Append("\" stroke-width=\"1.5\"");
            }
            sb.Append("><title>").Append(Escape(s.Label)).Append("</title></path>");
        }

        foreach (var m in _markers)
        {
            var x = N(Px(m.X));
            sb.Append("<g class=\"").Append(Escape(m.CssClass)).Append("\" data-x=\"").Append(m.X.ToString("R", CultureInfo.InvariantCulture)).Append("\">");
            sb.Append("<line x1=\"").Append(x).Append("\" x2=\"").Append(x).Append("\" y1=\"").Append(plotTop).Append("\" y2=\"").Append(plotTop + plotHeight)
                .Append("\" stroke=\"").Append(m.Colour).Append("\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>");
            var rightHalf = Px(m.X) > plotLeft + (plotWidth * 0.6);
            sb.Append("<text x=\"").Append(N(Px(m.X) + (rightHalf ? -4 : 4))).Append("\" y=\"").Append(plotTop + 12).Append("\" font-size=\"10\" fill=\"").Append(m.Colour)
                .Append("\" text-anchor=\"").Append(rightHalf ? "end" : "start").Append("\">").Append(Escape(m.Label)).Append("</text></g>");
        }

        if (legend)
        {
            var lx = _width - LegendWidth + 4;
            var row = 0;
            sb.Append("<g class=\"legend\" font-size=\"10\">");
            foreach (var s in _series)
            {
                if (s.Label.Length == 0)
                {
                    continue;
                }
                var y = plotTop + 6 + (row++ * LegendRow);
                sb.Append("<rect x=\"").Append(lx).Append("\" y=\"").Append(y - 5).Append("\" width=\"14\" height=\"").Append(s.Kind == SeriesKind.Line ? 3 : 10)
                    .Append("\" fill=\"").Append(s.Colour).Append("\"/>");
                sb.Append("<text x=\"").Append(lx + 19).Append("\" y=\"").Append(y + 4).Append("\">").Append(Escape(Shorten(s.Label, 24))).Append("</text>");
            }
            sb.Append("</g>");
        }
        return sb.Append("</svg>").ToString();
    }

    /// <summary>
    /// <paramref name="count"/> colours from matplotlib's viridis (perceptually uniform, readable with the common colour-vision
    /// deficiencies), spread over [0, 0.85] so the last is still visible on white.
    /// </summary>
    public static string[] Viridis(int count)
    {
        var colours = new string[count];
        for (var i = 0; i < count; i++)
        {
            colours[i] = ViridisAt(count == 1 ? 0.0 : 0.85 * i / (count - 1));
        }
        return colours;
    }

    /// <summary>Viridis at <paramref name="t"/> in [0, 1], as #rrggbb (linear between matplotlib's values at tenths).</summary>
    public static string ViridisAt(double t)
    {
        var (r, g, b) = ViridisRgb(t);
        return $"#{r:x2}{g:x2}{b:x2}";
    }

    /// <summary>Viridis at <paramref name="t"/> (clamped to [0, 1]; NaN as 0) as bytes, for colouring maps.</summary>
    public static (byte R, byte G, byte B) ViridisRgb(double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1) * 10;
        var i = Math.Min((int)t, 9);
        var f = t - i;
        var a = ViridisStops[i];
        var b = ViridisStops[i + 1];
        byte Mix(int shift) => (byte)Math.Round((((a >> shift) & 0xFF) * (1 - f)) + (((b >> shift) & 0xFF) * f));
        return (Mix(16), Mix(8), Mix(0));
    }

    // matplotlib viridis at 0, 0.1, ..., 1.
    private static readonly int[] ViridisStops =
        [0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c, 0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725];

    /// <summary>Text escaped for SVG/HTML content and attribute values.</summary>
    public static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)
            .Replace("\"", "&quot;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal);

    private (double XMin, double XMax, double YMin, double YMax) Ranges()
    {
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity, yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (var s in _series)
        {
            foreach (var v in s.X)
            {
                xMin = Math.Min(xMin, v);
                xMax = Math.Max(xMax, v);
            }
            foreach (var v in s.Y)
            {
                yMin = Math.Min(yMin, v);
                yMax = Math.Max(yMax, v);
            }
            if (s.Kind == SeriesKind.Steps)
            {
                yMin = Math.Min(yMin, 0);
            }
        }
        foreach (var m in _markers)
        {
            xMin = Math.Min(xMin, m.X);
            xMax = Math.Max(xMax, m.X);
        }
        xMin = _xMin ?? (double.IsFinite(xMin) ? xMin : 0);
        xMax = _xMax ?? (double.IsFinite(xMax) ? xMax : 1);
        yMin = _yMin ?? (double.IsFinite(yMin) ? yMin : 0);
        yMax = _yMax ?? (double.IsFinite(yMax) ? yMax : 1);
        if (!(xMax > xMin))
        {
            (xMin, xMax) = (xMin - 0.5, xMin + 0.5);
        }
        if (!(yMax > yMin))
        {
            (yMin, yMax) = (yMin - 0.5, yMin + 0.5);
        }
        return (xMin, xMax, yMin, yMax);
    }

    // About five ticks at 1, 2 or 5 times a power of ten, inside [min, max].
    private static List<double> Ticks(double min, double max)
    {
        var raw = (max - min) / 5;
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = (raw / power) switch
        {
            < 1.5 => power,
            < 3.5 => 2 * power,
            < 7.5 => 5 * power,
            _ => 10 * power,
        };
        var ticks = new List<double>();
        for (var k = Math.Ceiling((min / step) - 1e-9); k * step <= max + (step * 1e-9); k++)
        {
            // + 0.0 turns -0 (from a negative k * step rounding to zero) into 0, so no tick reads "-0".
            ticks.Add(Math.Round(k * step, 12) + 0.0);
        }
        return ticks;
    }

    /// <summary>A tick's text: "0" for zero (also -0), exponent form for large and for small magnitudes (a learning rate of 4e-5).</summary>
    private static string TickLabel(double v) => v == 0 ? "0"
        : v.ToString(Math.Abs(v) >= 10000 || Math.Abs(v) < 0.01 ? "0.##E+0" : "0.###", CultureInfo.InvariantCulture);

    private static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private enum SeriesKind
    {
        Line,
        Steps,
    }

    private sealed record Series(SeriesKind Kind, string Label, double[] X, double[] Y, string Colour, string CssClass, string? DataClass, bool Dashed);

    private sealed record Marker(double X, string Label, string Colour, string CssClass);
}
