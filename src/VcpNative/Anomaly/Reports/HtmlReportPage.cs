// Builds one self-contained HTML report page (inline CSS, inline SVG, PNG thumbnails beside it) and writes it atomically.
using System.Globalization;
using System.Text;
using VcpNative.IO;
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Reports;

/// <summary>
/// An HTML page assembled in order: headings, paragraphs, tables, settings, figures, thumbnails. Everything it refers to is
/// inline or a relative path inside the report's folder, so the report opens offline from a copy of that folder; there is
/// no web font, no network URL and no script unless <see cref="Script"/> adds a file of the report's own folder. Text passed in is escaped; <see cref="Raw"/> takes markup as is.
/// </summary>
internal sealed class HtmlReportPage
{
    /// <summary>Folder, next to the report, that <see cref="Thumbnail"/> writes its PNG files into.</summary>
    public const string FilesFolder = "report_files";

    /// <summary>Largest side of a thumbnail in pixels.</summary>
    public const int ThumbnailSide = 256;

    private const string Style = """
        body{font-family:sans-serif;margin:16px 24px;color:#1a1a1a;background:#fafafa;max-width:1500px}
        h1{font-size:22px;margin:4px 0 8px}h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid #ccc;padding-bottom:3px}
        h3{font-size:15px;margin:16px 0 6px}p.note{color:#555;font-size:12px;margin:4px 0}
        table{border-collapse:collapse;font-size:12px;margin:6px 0;background:#fff}
        th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;white-space:nowrap}
        th:first-child,td:first-child{text-align:left}thead th{background:#eef0f4}tr.mean td{font-weight:bold;background:#f4f4f4}
        td.undefined{color:#888}
        dl.settings{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:12px;margin:6px 0}
        dl.settings dt{font-weight:bold}dl.settings dd{margin:0;font-family:monospace;word-break:break-all}
        .figures{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
        figure{margin:0;background:#fff;border:1px solid #ddd;padding:4px}figcaption{font-size:11px;color:#444;margin-top:2px;max-width:520px}
        .strip{display:flex;gap:4px;align-items:flex-start}.strip img{width:128px;height:auto;image-rendering:auto;border:1px solid #ccc}
        .strip span{display:block;font-size:10px;color:#555;text-align:center}
        """;

    private readonly string _title;
    private readonly StringBuilder _body = new();
    private bool _scripts;
    private int? _refreshSeconds;

    /// <summary>A page titled <paramref name="title"/> (the &lt;title&gt; and the first heading).</summary>
    public HtmlReportPage(string title)
    {
        _title = title;
        Heading(1, title);
    }

    /// <summary>Text escaped for HTML content and attribute values.</summary>
    public static string Escape(string text) => SvgPlot.Escape(text);

    /// <summary>A heading of <paramref name="level"/> 1..4, with an optional id to link to.</summary>
    public HtmlReportPage Heading(int level, string text, string? id = null)
    {
        level = Math.Clamp(level, 1, 4);
        _body.Append("<h").Append(level);
        if (id is not null)
        {
            _body.Append(" id=\"").Append(Escape(id)).Append('"');
        }
        _body.Append('>').Append(Escape(text)).Append("</h").Append(level).Append(">\n");
        return this;
    }

    /// <summary>A paragraph of plain text; <paramref name="note"/> sets it small and grey.</summary>
    public HtmlReportPage Paragraph(string text, bool note = false)
    {
        _body.Append(note ? "<p class=\"note\">" : "<p>").Append(Escape(text)).Append("</p>\n");
        return this;
    }

    /// <summary>Markup inserted as is (an SVG from <see cref="SvgPlot.ToSvg"/>, or markup built with <see cref="Escape"/>).</summary>
    public HtmlReportPage Raw(string html)
    {
        _body.Append(html).Append('\n');
        return this;
    }

    /// <summary>
    /// A table with id <paramref name="id"/>: header cells carry <c>data-column</c>, rows <c>data-row</c> (and their
    /// <see cref="TableRow.CssClass"/>), cells <c>data-column</c> and, where a cell has one, <c>data-value</c>
    /// (the exact number as "R" text, so a test can compare it with the JSON it came from).
    /// </summary>
    public HtmlReportPage Table(string id, IReadOnlyList<string> columns, IEnumerable<TableRow> rows)
    {
        _body.Append("<table id=\"").Append(Escape(id)).Append("\"><thead><tr>");
        foreach (var c in columns)
        {
            _body.Append("<th data-column=\"").Append(Escape(c)).Append("\">").Append(Escape(c)).Append("</th>");
        }
        _body.Append("</tr></thead><tbody>\n");
        foreach (var row in rows)
        {
            if (row.Cells.Count != columns.Count)
            {
                throw new ArgumentException($"table {id}: row '{row.Key}' has {row.Cells.Count} cells for {columns.Count} columns");
            }
            _body.Append("<tr data-row=\"").Append(Escape(row.Key)).Append('"');
            if (row.CssClass is not null)
            {
                _body.Append(" class=\"").Append(Escape(row.CssClass)).Append('"');
            }
            _body.Append('>');
            for (var i = 0; i < columns.Count; i++)
            {
                var cell = row.Cells[i];
                _body.Append("<td data-column=\"").Append(Escape(columns[i])).Append('"');
                if (cell.Value is double v)
                {
                    _body.Append(" data-value=\"").Append(v.ToString("R", CultureInfo.InvariantCulture)).Append('"');
                }
                if (cell.Title is not null)
                {
                    _body.Append(" class=\"undefined\" title=\"").Append(Escape(cell.Title)).Append('"');
                }
                _body.Append('>').Append(Escape(cell.Text)).Append("</td>");
            }
            _body.Append("</tr>\n");
        }
        _body.Append("</tbody></table>\n");
        return this;
    }

    /// <summary>The run's settings as a definition list (<c>dl.settings</c>) with id <paramref name="id"/>.</summary>
    public HtmlReportPage Settings(IEnumerable<KeyValuePair<string, string>> settings, string id = "settings")
    {
        _body.Append("<dl class=\"settings\" id=\"").Append(Escape(id)).Append("\">");
        foreach (var (key, value) in settings)
        {
            _body.Append("<dt>").Append(Escape(key)).Append("</dt><dd data-key=\"").Append(Escape(key)).Append("\">").Append(Escape(value)).Append("</dd>");
        }
        _body.Append("</dl>\n");
        return this;
    }

    /// <summary>
    /// A script file inside the report's folder (<paramref name="relativeUrl"/>, e.g. infer's paged gallery). Only then does
    /// the page's Content-Security-Policy allow scripts, and only from files: no inline script, nothing from the network.
    /// </summary>
    public HtmlReportPage Script(string relativeUrl)
    {
        _scripts = true;
        _body.Append("<script src=\"").Append(Escape(relativeUrl)).Append("\"></script>\n");
        return this;
    }

    /// <summary>Makes the browser reload the page every <paramref name="seconds"/> (a report rewritten while its run goes on).</summary>
    public HtmlReportPage AutoRefresh(int seconds)
    {
        _refreshSeconds = seconds;
        return this;
    }

    /// <summary>Opens a wrapping row of figures; close it with <see cref="EndFigures"/>.</summary>
    public HtmlReportPage BeginFigures()
    {
        _body.Append("<div class=\"figures\">\n");
        return this;
    }

    /// <summary>Closes the row opened by <see cref="BeginFigures"/>.</summary>
    public HtmlReportPage EndFigures()
    {
        _body.Append("</div>\n");
        return this;
    }

    /// <summary>A figure: a plot's SVG and a caption.</summary>
    public HtmlReportPage Figure(SvgPlot plot, string caption) => Figure(plot.ToSvg(), caption);

    /// <summary>A figure with id <paramref name="id"/> (tests count the series inside it): a plot's SVG and a caption.</summary>
    public HtmlReportPage Figure(SvgPlot plot, string caption, string id)
    {
        _body.Append("<figure id=\"").Append(Escape(id)).Append("\">").Append(plot.ToSvg()).Append("<figcaption>").Append(Escape(caption)).Append("</figcaption></figure>\n");
        return this;
    }

    /// <summary>A figure: markup (SVG or images) and a caption.</summary>
    public HtmlReportPage Figure(string innerHtml, string caption)
    {
        _body.Append("<figure>").Append(innerHtml).Append("<figcaption>").Append(Escape(caption)).Append("</figcaption></figure>\n");
        return this;
    }

    /// <summary>
    /// A row of captioned thumbnails (<c>div.strip</c>) with the given data-* attributes on the row, e.g. one wrongly
    /// scored image as image | ground truth | map | overlay. <paramref name="images"/> are relative URLs from <see cref="Thumbnail"/>.
    /// </summary>
    public HtmlReportPage ImageStrip(IReadOnlyList<(string Url, string Caption)> images, string cssClass, IEnumerable<KeyValuePair<string, string>>? data = null, string? caption = null)
    {
        _body.Append("<figure class=\"").Append(Escape(cssClass)).Append('"');
        foreach (var (key, value) in data ?? [])
        {
            _body.Append(" data-").Append(Escape(key)).Append("=\"").Append(Escape(value)).Append('"');
        }
        _body.Append("><div class=\"strip\">");
        foreach (var (url, text) in images)
        {
            _body.Append("<div><img src=\"").Append(Escape(url)).Append("\" alt=\"").Append(Escape(text)).Append("\" loading=\"eager\"><span>").Append(Escape(text)).Append("</span></div>");
        }
        _body.Append("</div>");
        if (caption is not null)
        {
            _body.Append("<figcaption>").Append(Escape(caption)).Append("</figcaption>");
        }
        _body.Append("</figure>\n");
        return this;
    }

    /// <summary>The whole page: doctype, head with the inline style, body.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder(_body.Length + 2048);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        // Nothing may come from the network, and a stray reference should fail visibly rather than load; favicon included.
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'")
            .Append(_scripts ? "; script-src 'self' file:" : "").Append("\">");
        sb.Append("<link rel=\"icon\" href=\"data:,\">");
        if (_refreshSeconds is int seconds)
        {
            sb.Append("<meta http-equiv=\"refresh\" content=\"").Append(seconds.ToString(CultureInfo.InvariantCulture)).Append("\">");
        }
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>").Append(Escape(_title)).Append("</title><style>")
            .Append(Style).Append("</style></head><body>\n");
        return sb.Append(_body).Append("</body></html>\n").ToString();
    }

    /// <summary>Writes the page to <paramref name="path"/> through <see cref="AtomicFile"/> (a reader never sees half a report).</summary>
    public void WriteAtomically(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }
        AtomicFile.Write(path, ToHtml());
    }

    /// <summary>
    /// Writes <paramref name="image"/>, scaled down (area average) so its longer side is at most <see cref="ThumbnailSide"/>,
    /// as a PNG at <paramref name="reportFolder"/>/<see cref="FilesFolder"/>/<paramref name="name"/> (atomically) and returns
    /// its URL relative to the report. <paramref name="name"/> may contain '/' subfolders; it is used as given.
    /// </summary>
    public static string Thumbnail(string reportFolder, string name, PixelImage image)
    {
        var relative = FilesFolder + "/" + name;
        var path = Path.Combine(reportFolder, FilesFolder, name.Replace('/', Path.DirectorySeparatorChar));
        WriteThumbnailFile(path, image, ThumbnailSide);
        return string.Join('/', relative.Split('/').Select(Uri.EscapeDataString));
    }

    /// <summary>Writes <paramref name="image"/> shrunk to at most <paramref name="side"/> pixels a side as a PNG at <paramref name="path"/> (atomically, folders made).</summary>
    public static void WriteThumbnailFile(string path, PixelImage image, int side)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Fastest deflate: a thumbnail is a few kB either way, and encoding is most of a report's cost (docs/reports.md).
        AtomicFile.Write(path, PngEncoder.Encode(Downscale(image, side), System.IO.Compression.CompressionLevel.Fastest));
    }

    /// <summary><paramref name="image"/> shrunk by area averaging so its longer side is at most <paramref name="side"/>; smaller images are returned as they are.</summary>
    public static PixelImage Downscale(PixelImage image, int side)
    {
        var scale = Math.Max(image.Width, image.Height) / (double)side;
        if (scale <= 1)
        {
            return image;
        }
        var width = Math.Max(1, (int)Math.Round(image.Width / scale));
        var height = Math.Max(1, (int)Math.Round(image.Height / scale));
        var channels = image.Channels;
        var dst = new byte[width * height * channels];
        var src = image.Pixels;
        var sums = new long[channels];
        for (var y = 0; y < height; y++)
        {
            var y0 = (int)((long)y * image.Height / height);
            var y1 = Math.Max(y0 + 1, (int)((long)(y + 1) * image.Height / height));
            for (var x = 0; x < width; x++)
            {
                var x0 = (int)((long)x * image.Width / width);
                var x1 = Math.Max(x0 + 1, (int)((long)(x + 1) * image.Width / width));
                Array.Clear(sums);
                for (var sy = y0; sy < y1; sy++)
                {
                    for (var sx = x0; sx < x1; sx++)
                    {
                        var o = ((sy * image.Width) + sx) * channels;
                        for (var c = 0; c < channels; c++)
                        {
                            sums[c] += src[o + c];
                        }
                    }
                }
                var n = (y1 - y0) * (x1 - x0);
                for (var c = 0; c < channels; c++)
                {
                    dst[(((y * width) + x) * channels) + c] = (byte)((sums[c] + (n / 2)) / n);
                }
            }
        }
        return channels == 1 ? new GreyImage(width, height, dst) : new RgbImage(width, height, dst);
    }
}

/// <summary>One cell of an <see cref="HtmlReportPage.Table"/>: the text shown, the exact number behind it (if any), and a tooltip (marks the cell undefined).</summary>
internal readonly record struct TableCell(string Text, double? Value = null, string? Title = null);

/// <summary>One row of an <see cref="HtmlReportPage.Table"/>: its key (data-row), cells, optional CSS class.</summary>
internal sealed record TableRow(string Key, IReadOnlyList<TableCell> Cells, string? CssClass = null);
