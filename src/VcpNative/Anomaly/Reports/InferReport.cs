// infer's report.html: a paged gallery sorted by score, the score histogram with the threshold, the failed inputs.
using System.Globalization;
using System.Text;
using System.Text.Json;
using VcpNative.IO;
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Reports;

/// <summary>What the report says about the job besides its results (with the date and version of <see cref="ReportSettings"/>).</summary>
/// <param name="Clip">CLIP weights file.</param>
/// <param name="Head">Head weights file.</param>
/// <param name="Device">The backend's name (a merge of shards says so instead).</param>
/// <param name="Fingerprint">The model fingerprint when known (a merge takes it from the shards); null: computed from the files.</param>
internal sealed record InferReportSettings(string Clip, string Head, string Device, string? Fingerprint = null);

/// <summary>
/// Writes OUT/report.html from OUT/results.json. The gallery never embeds images or records: the successful records,
/// sorted by score (highest first), go to report_files/results-NNN.js in chunks of <see cref="DefaultChunkSize"/>, which
/// report_files/gallery.js loads with &lt;script src&gt; (Chromium blocks fetch() of file:// URLs) only for the page shown; each card shows a
/// thumbnail from report_files/thumbs/ (made during the run from the overlay in memory, see <see cref="WriteThumbnail"/>)
/// with loading="lazy" and links to the full-size overlay, mask and map. So a 100k-image job's page stays as light as
/// a 100-image one's. Every file is written atomically, report.html last.
/// </summary>
internal static class InferReport
{
    /// <summary>The page, in the output folder.</summary>
    public const string FileName = "report.html";

    /// <summary>Folder of the page's data chunks and thumbnails, in the output folder.</summary>
    public const string FolderName = HtmlReportPage.FilesFolder;

    /// <summary>Longest side of a thumbnail in pixels.</summary>
    public const int ThumbnailSize = 192;

    /// <summary>Records per report_files/results-NNN.js.</summary>
    public const int DefaultChunkSize = 1000;

    /// <summary>Failed inputs listed in the page (all of them are in results.json and results.csv).</summary>
    private const int MaxFailuresListed = 1000;

    private const int HistogramBins = 40;

    /// <summary>Thumbnail of the overlay <paramref name="overlay"/> (a path relative to the output folder), relative to the output folder.</summary>
    public static string ThumbnailFor(string overlay) => FolderName + "/thumbs/" + Path.GetFileName(overlay);

    /// <summary>Writes the thumbnail of one image's overlay (cheap: a box downscale of the image already in memory).</summary>
    /// <param name="output">The job's output folder.</param>
    /// <param name="overlayPath">The overlay's path relative to <paramref name="output"/>.</param>
    /// <param name="overlay">The overlay's pixels.</param>
    public static void WriteThumbnail(string output, string overlayPath, RgbImage overlay)
    {
        // Smaller than HtmlReportPage.Thumbnail's: a gallery page holds a hundred of them.
        HtmlReportPage.WriteThumbnailFile(Path.Combine(output, ThumbnailFor(overlayPath)), overlay, ThumbnailSize);
    }

    /// <summary>
    /// Writes report.html and its data chunks from <paramref name="output"/>/results.json; thumbnails missing for a
    /// record with an overlay (a job resumed from a run without reports) are made from the overlay file, if it is there.
    /// </summary>
    /// <param name="output">The job's output folder, holding results.json.</param>
    /// <param name="settings">Weights and device for the settings block (ReportSettings adds fingerprint, date, version).</param>
    /// <param name="chunkSize">Records per data chunk (tests use small ones to cross chunk borders).</param>
    /// <returns>The path of report.html.</returns>
    public static string Write(string output, InferReportSettings settings, int chunkSize = DefaultChunkSize)
    {
        var results = ReadResults(Path.Combine(output, "results.json"));
        var sorted = results.Scored.OrderByDescending(r => r.Score).ThenBy(r => r.Index).ToList();
        var folder = Path.Combine(output, FolderName);
        Directory.CreateDirectory(folder);
        var thumbnails = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in sorted)
        {
            if (r.Overlay is not null && HasThumbnail(output, r.Overlay))
            {
                thumbnails.Add(r.Overlay);
            }
        }
        var chunks = (sorted.Count + chunkSize - 1) / chunkSize;
        for (var c = 0; c < chunks; c++)
        {
            AtomicFile.Write(Path.Combine(folder, ChunkName(c)), Chunk(c, sorted.Skip(c * chunkSize).Take(chunkSize), thumbnails));
        }
        // A longer earlier report's chunks would be harmless but misleading next to this one.
        foreach (var stale in Directory.EnumerateFiles(folder, "results-*.js"))
        {
            if (int.TryParse(Path.GetFileNameWithoutExtension(stale).AsSpan("results-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= chunks)
            {
                File.Delete(stale);
            }
        }
        AtomicFile.Write(Path.Combine(folder, "gallery.js"), GalleryScript);
        var page = Path.Combine(output, FileName);
        Page(results, sorted, settings, chunkSize).WriteAtomically(page);
        return page;
    }

    /// <summary>One successful record: its position in results.json, score, verdict and files (relative paths).</summary>
    private sealed record Scored(int Index, string Input, double Score, bool? Anomalous, string? Overlay, string? Mask, string? Map);

    /// <summary>results.json's header fields, successes and failures.</summary>
    private sealed record Results(string Method, int ImageSize, double? Threshold, string ScoreMeaning, double ScoreMaximum,
        List<Scored> Scored, List<(string Input, string Error)> Failed);

    private static Results ReadResults(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: expected a batch job's results.json (an object with \"results\")");
        }
        string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var scored = new List<Scored>();
        var failed = new List<(string, string)>();
        var index = 0;
        foreach (var item in root.GetProperty("results").EnumerateArray())
        {
            var input = item.GetProperty("input").GetString()!;
            var score = item.GetProperty("score");
            if (score.ValueKind == JsonValueKind.Null)
            {
                failed.Add((input, Text(item, "error") ?? ""));
            }
            else
            {
                bool? anomalous = item.TryGetProperty("anomalous", out var a) && a.ValueKind is JsonValueKind.True or JsonValueKind.False ? a.GetBoolean() : null;
                scored.Add(new Scored(index, input, score.GetDouble(), anomalous, Text(item, "overlay"), Text(item, "mask"), Text(item, "map")));
            }
            index++;
        }
        var threshold = root.GetProperty("threshold");
        var range = root.GetProperty("score_range");
        return new Results(root.GetProperty("method").GetString()!, root.GetProperty("image_size").GetInt32(),
            threshold.ValueKind == JsonValueKind.Null ? null : threshold.GetDouble(), Text(root, "score_meaning") ?? "",
            range[1].GetDouble(), scored, failed);
    }

    /// <summary>True when the overlay's thumbnail exists or could be made now from the overlay file (a card without one shows no image).</summary>
    private static bool HasThumbnail(string output, string overlay)
    {
        if (File.Exists(Path.Combine(output, ThumbnailFor(overlay))))
        {
            return true;
        }
        var overlayFile = Path.Combine(output, overlay);
        if (!File.Exists(overlayFile))
        {
            return false;
        }
        WriteThumbnail(output, overlay, ImageDecoder.DecodeRgb(overlayFile));
        return true;
    }

    private static string ChunkName(int chunk) => string.Create(CultureInfo.InvariantCulture, $"results-{chunk:D3}.js");

    /// <summary>A data chunk: <c>vcpReport.chunk(N, [{score, input, anomalous, overlay, mask, map, thumb}, ...]);</c> with URL-escaped links.</summary>
    private static byte[] Chunk(int chunk, IEnumerable<Scored> records, HashSet<string> thumbnails)
    {
        using var stream = new MemoryStream();
        stream.Write(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"vcpReport.chunk({chunk}, ")));
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartArray();
            foreach (var r in records)
            {
                json.WriteStartObject();
                json.WriteNumber("score", r.Score);
                json.WriteString("input", r.Input);
                if (r.Anomalous is bool a)
                {
                    json.WriteBoolean("anomalous", a);
                }
                Link(json, "overlay", r.Overlay);
                Link(json, "mask", r.Mask);
                Link(json, "map", r.Map);
                Link(json, "thumb", r.Overlay is not null && thumbnails.Contains(r.Overlay) ? ThumbnailFor(r.Overlay) : null);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        stream.Write(");\n"u8);
        return stream.ToArray();
    }

    private static void Link(Utf8JsonWriter json, string name, string? relative)
    {
        if (relative is not null)
        {
            json.WriteString(name, Href(relative));
        }
    }

    /// <summary>A relative path as a URL: each segment escaped, so '#', '?', '%' and spaces in stems stay part of the name.</summary>
    private static string Href(string relative) =>
        string.Join('/', relative.Split(Path.DirectorySeparatorChar, '/').Select(Uri.EscapeDataString));

    private static HtmlReportPage Page(Results results, List<Scored> sorted, InferReportSettings settings, int chunkSize)
    {
        var inv = CultureInfo.InvariantCulture;
        var flagged = sorted.Count(r => r.Anomalous == true);
        var page = new HtmlReportPage("Inference report").Raw("<style>" + ExtraCss + "</style>");
        var summary = new StringBuilder();
        summary.Append(inv, $"<p class=\"summary\"><span id=\"count-scored\">{sorted.Count}</span> images scored, <span id=\"count-failed\">{results.Failed.Count}</span> failed");
        if (results.Threshold is double t)
        {
            summary.Append(inv, $", <span id=\"count-flagged\">{flagged}</span> above the threshold {HtmlReportPage.Escape(t.ToString("R", inv))}");
        }
        page.Raw(summary.Append(".</p>").ToString());

        page.Heading(2, "Settings").Settings(ReportSettings.ForModel(settings.Clip, settings.Head, results.Method, results.ImageSize, settings.Device,
        [
            new("threshold", results.Threshold?.ToString("R", inv) ?? "none (no verdicts)"),
            new("score", results.ScoreMeaning),
            new("score range", $"[0, {results.ScoreMaximum.ToString("R", inv)}]"),
        ], settings.Fingerprint));

        page.Heading(2, "Score histogram");
        if (sorted.Count == 0)
        {
            page.Paragraph("No image was scored.");
        }
        else
        {
            page.Figure(Histogram(sorted, results.Threshold), $"{sorted.Count} image scores in {HistogramBins} bins" + (results.Threshold is null ? "." : "; the dashed line is the threshold."));
        }

        page.Heading(2, "Gallery, highest score first");
        if (sorted.Count == 0)
        {
            page.Paragraph("No image was scored.");
        }
        else
        {
            page.Raw(string.Create(inv, $"""
                <nav class="pager">
                <button type="button" id="first">&laquo; first</button> <button type="button" id="prev">&lsaquo; previous</button>
                <span id="page-label"></span>
                <button type="button" id="next">next &rsaquo;</button> <button type="button" id="last">last &raquo;</button>
                <label>per page <select id="per-page"><option>20</option><option selected>100</option><option>500</option></select></label>
                </nav>
                <div id="gallery" class="gallery" data-total="{sorted.Count}" data-chunk-size="{chunkSize}"></div>
                <noscript><p>The gallery needs JavaScript; every result is in results.json and results.csv.</p></noscript>
                """));
            page.Script(FolderName + "/gallery.js");
        }

        page.Heading(2, "Failed inputs");
        if (results.Failed.Count == 0)
        {
            page.Paragraph("None.");
        }
        else
        {
            page.Table("failures", ["input", "error"],
                results.Failed.Take(MaxFailuresListed).Select(f => new TableRow(f.Input, [new TableCell(f.Input), new TableCell(f.Error)])));
            if (results.Failed.Count > MaxFailuresListed)
            {
                page.Paragraph($"{results.Failed.Count - MaxFailuresListed} more in results.json and results.csv.", note: true);
            }
        }
        return page;
    }

    /// <summary>Score histogram over the scores' own range (widened to hold the threshold), with the threshold as a marker line.</summary>
    private static SvgPlot Histogram(List<Scored> sorted, double? threshold)
    {
        var low = sorted[^1].Score;
        var high = sorted[0].Score;
        if (threshold is double t)
        {
            low = Math.Min(low, t);
            high = Math.Max(high, t);
        }
        if (high <= low)
        {
            (low, high) = (low - 0.5, high + 0.5);
        }
        var counts = new double[HistogramBins];
        var width = (high - low) / HistogramBins;
        foreach (var r in sorted)
        {
            counts[Math.Clamp((int)((r.Score - low) / width), 0, HistogramBins - 1)]++;
        }
        var edges = Enumerable.Range(0, HistogramBins + 1).Select(i => low + (i * width)).ToArray();
        var plot = new SvgPlot("Image scores", "score", "images", width: 640).Histogram("images", edges, counts, SvgPlot.ViridisAt(0.3));
        if (threshold is double th)
        {
            plot.VerticalMarker(th, "threshold " + th.ToString("R", CultureInfo.InvariantCulture));
        }
        return plot;
    }

    private const string ExtraCss = """
        .pager { margin: 0.5em 0; }
        .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; }
        .card { border: 1px solid #ccc; border-radius: 4px; padding: 4px; margin: 0; }
        .card img { display: block; max-width: 192px; max-height: 192px; margin: 0 auto; }
        .card figcaption { font-size: 0.85em; overflow-wrap: anywhere; }
        .verdict-anomalous { color: #b00; font-weight: bold; }
        .verdict-normal { color: #06c; }
        """;

    /// <summary>
    /// Renders one page of cards from the chunks it needs, loading each chunk once with &lt;script src&gt;. The page
    /// number lives in the URL's hash, so reloading or going back keeps it. Text goes in through textContent only.
    /// </summary>
    private const string GalleryScript = """
        // report.html's paged gallery (written by vcp-native's InferReport): renders one page of cards from report_files/results-NNN.js.
        "use strict";
        (() => {
        const gallery = document.getElementById("gallery");
        const reportData = { total: Number(gallery.dataset.total), chunkSize: Number(gallery.dataset.chunkSize) };
        const chunks = new Map();
        const waiting = new Map();
        window.vcpReport = {
          chunk(index, records) {
            chunks.set(index, records);
            const done = waiting.get(index);
            waiting.delete(index);
            if (done) { done(); }
          },
        };
        function loadChunk(index) {
          return new Promise((resolve, reject) => {
            if (chunks.has(index)) { resolve(); return; }
            waiting.set(index, resolve);
            const script = document.createElement("script");
            script.src = "report_files/results-" + String(index).padStart(3, "0") + ".js";
            script.onerror = () => reject(new Error("cannot load " + script.src));
            document.head.appendChild(script);
          });
        }
        let perPage = 100;
        let page = 0;
        const pages = () => Math.max(1, Math.ceil(reportData.total / perPage));
        function link(parent, text, href) {
          if (!href) { return; }
          const a = document.createElement("a");
          a.href = href;
          a.textContent = text;
          parent.append(" ", a);
        }
        function card(record, rank) {
          const figure = document.createElement("figure");
          figure.className = "card";
          if (record.thumb) {
            const a = document.createElement("a");
            a.href = record.overlay;
            const img = document.createElement("img");
            img.loading = "lazy";
            img.src = record.thumb;
            img.alt = "overlay of " + record.input;
            a.append(img);
            figure.append(a);
          }
          const caption = document.createElement("figcaption");
          const score = document.createElement("span");
          score.className = "score";
          score.dataset.score = String(record.score);
          score.title = String(record.score);
          score.textContent = record.score.toFixed(4);
          const verdict = document.createElement("span");
          verdict.className = "verdict" + (record.anomalous === undefined ? "" : record.anomalous ? " verdict-anomalous" : " verdict-normal");
          verdict.textContent = record.anomalous === undefined ? "" : record.anomalous ? "anomalous" : "normal";
          const name = document.createElement("div");
          name.className = "input";
          name.textContent = record.input;
          caption.append("#" + rank + " ", score, " ", verdict, name);
          link(caption, "overlay", record.overlay);
          link(caption, "mask", record.mask);
          link(caption, "map", record.map);
          figure.append(caption);
          return figure;
        }
        async function show(wanted) {
          page = Math.min(Math.max(0, wanted), pages() - 1);
          const start = page * perPage;
          const end = Math.min(reportData.total, start + perPage);
          const first = Math.floor(start / reportData.chunkSize);
          const last = Math.floor((end - 1) / reportData.chunkSize);
          for (let c = first; c <= last; c++) { await loadChunk(c); }
          const cards = [];
          for (let i = start; i < end; i++) {
            cards.push(card(chunks.get(Math.floor(i / reportData.chunkSize))[i % reportData.chunkSize], i + 1));
          }
          gallery.replaceChildren(...cards);
          document.getElementById("page-label").textContent = "page " + (page + 1) + " of " + pages() + " (" + (start + 1) + "\u2013" + end + " of " + reportData.total + ")";
          document.getElementById("prev").disabled = document.getElementById("first").disabled = page === 0;
          document.getElementById("next").disabled = document.getElementById("last").disabled = page === pages() - 1;
          gallery.dataset.page = String(page + 1);
          const hash = "#page=" + (page + 1) + "&per=" + perPage;
          if (location.hash !== hash) { location.hash = hash; }
        }
        function fromHash() {
          const m = /page=(\d+)(?:&per=(\d+))?/.exec(location.hash);
          const select = document.getElementById("per-page");
          if (m && m[2] && [...select.options].some(o => o.value === m[2])) { select.value = m[2]; }
          perPage = Number(select.value);
          return m ? Number(m[1]) - 1 : 0;
        }
        document.getElementById("first").addEventListener("click", () => show(0));
        document.getElementById("prev").addEventListener("click", () => show(page - 1));
        document.getElementById("next").addEventListener("click", () => show(page + 1));
        document.getElementById("last").addEventListener("click", () => show(pages() - 1));
        document.getElementById("per-page").addEventListener("change", e => {
          const firstShown = page * perPage;
          perPage = Number(e.target.value);
          show(Math.floor(firstShown / perPage));
        });
        // Back and forward through pages, or a hash typed by hand; show()'s own hash changes match what it shows.
        window.addEventListener("hashchange", () => {
          if (location.hash !== "#page=" + (page + 1) + "&per=" + perPage) { show(fromHash()); }
        });
        show(fromHash());
        })();

        """;
}
