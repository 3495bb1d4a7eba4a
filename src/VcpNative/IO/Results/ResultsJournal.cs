// results.jsonl: one line per finished input, appended and fsynced per batch; what --resume reads back.
using System.Buffers;
using System.Text.Json;

namespace VcpNative.IO.Results;

/// <summary>
/// One finished input of a batch job: the file's size and modification time when it was read (a resumed run redoes a
/// file that changed since), and either its result or the one-line error that stopped it.
/// </summary>
/// <param name="Input">The input path as given.</param>
/// <param name="Size">File size in bytes when read.</param>
/// <param name="ModifiedUtc">Last write time (UTC) when read.</param>
/// <param name="Result">The result, or null for a failure.</param>
/// <param name="Error">Why the input failed (one line), or null for a success.</param>
public sealed record JournalEntry(string Input, long Size, DateTime ModifiedUtc, ImageResultRecord? Result, string? Error)
{
    /// <summary>True when <paramref name="file"/> still has the size and modification time this entry recorded.</summary>
    /// <param name="file">The input file now.</param>
    public bool Matches(FileInfo file) => file.Exists && file.Length == Size && file.LastWriteTimeUtc == ModifiedUtc;
}

/// <summary>
/// The append-only journal of a batch job. Entries are buffered by <see cref="Add"/> and written by <see cref="Flush"/>
/// (once per batch), followed by an fsync; a flush that fails (a full disk) cuts the file back to its last complete
/// line, and <see cref="Read"/> ignores a torn last line left by a killed process, so the journal stays readable.
/// Cost per entry does not depend on how many came before.
/// </summary>
public sealed class ResultsJournal : IDisposable
{
    /// <summary>File name of the journal inside the output folder.</summary>
    public const string FileName = "results.jsonl";

    private readonly FileStream stream;
    private readonly ArrayBufferWriter<byte> buffer = new();
    private readonly Utf8JsonWriter line;

    /// <summary>Opens (creating if needed) the journal in <paramref name="outputDirectory"/> for appending.</summary>
    /// <param name="outputDirectory">The job's output folder.</param>
    public ResultsJournal(string outputDirectory)
    {
        Path = System.IO.Path.Combine(outputDirectory, FileName);
        stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        stream.Seek(CompleteLength(stream), SeekOrigin.Begin);
        stream.SetLength(stream.Position); // drop a torn last line before appending after it
        line = new Utf8JsonWriter(buffer);
    }

    /// <summary>The journal file.</summary>
    public string Path { get; }

    /// <summary>Buffers <paramref name="entry"/> until the next <see cref="Flush"/>.</summary>
    /// <param name="entry">A finished input.</param>
    public void Add(JournalEntry entry)
    {
        line.Reset(buffer);
        line.WriteStartObject();
        line.WriteString("input", entry.Input);
        line.WriteNumber("size", entry.Size);
        line.WriteString("mtime", entry.ModifiedUtc);
        if (entry.Result is { } r)
        {
            line.WriteNumber("score", r.Score);
            if (r.Anomalous is bool anomalous)
            {
                line.WriteBoolean("anomalous", anomalous);
            }
            WriteIfSet("map", r.Map);
            WriteIfSet("overlay", r.Overlay);
            WriteIfSet("mask", r.Mask);
            if (r.Width is int width && r.Height is int height)
            {
                line.WriteNumber("width", width);
                line.WriteNumber("height", height);
            }
        }
        else
        {
            line.WriteNull("score");
            line.WriteString("error", entry.Error);
        }
        line.WriteEndObject();
        line.Flush();
        buffer.Write("\n"u8);
    }

    /// <summary>Appends the buffered entries and forces them to disk.</summary>
    /// <exception cref="DiskFullException">No room for them; the journal is cut back to what it held before.</exception>
    public void Flush()
    {
        if (buffer.WrittenCount == 0)
        {
            return;
        }
        var before = stream.Position;
        try
        {
            stream.Write(buffer.WrittenSpan);
            stream.Flush(flushToDisk: true);
        }
        catch (IOException e) when (DiskFullException.IsDiskFull(e))
        {
            stream.SetLength(before);
            stream.Position = before;
            throw new DiskFullException(Path, buffer.WrittenCount, e);
        }
        buffer.Clear();
    }

    /// <summary>Closes the file (entries not flushed are dropped).</summary>
    public void Dispose()
    {
        line.Dispose();
        stream.Dispose();
    }

    /// <summary>The complete entries of the journal in <paramref name="outputDirectory"/> (none when there is no journal).</summary>
    /// <param name="outputDirectory">The job's output folder.</param>
    /// <exception cref="InvalidDataException">A complete line is not a journal entry.</exception>
    public static List<JournalEntry> Read(string outputDirectory)
    {
        var path = System.IO.Path.Combine(outputDirectory, FileName);
        var entries = new List<JournalEntry>();
        if (!File.Exists(path))
        {
            return entries;
        }
        var bytes = File.ReadAllBytes(path);
        var complete = bytes.AsSpan(0, bytes.AsSpan().LastIndexOf((byte)'\n') + 1);
        var number = 0;
        while (complete.Length > 0)
        {
            var end = complete.IndexOf((byte)'\n');
            number++;
            try
            {
                entries.Add(Parse(complete[..end]));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                throw new InvalidDataException($"{path}: line {number} is not a journal entry: {e.Message}", e);
            }
            complete = complete[(end + 1)..];
        }
        return entries;
    }

    private void WriteIfSet(string name, string? value)
    {
        if (value is not null)
        {
            line.WriteString(name, value);
        }
    }

    private static JournalEntry Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        var input = root.GetProperty("input").GetString()!;
        var size = root.GetProperty("size").GetInt64();
        var mtime = root.GetProperty("mtime").GetDateTime();
        var score = root.GetProperty("score");
        if (score.ValueKind == JsonValueKind.Null)
        {
            return new JournalEntry(input, size, mtime, null, root.GetProperty("error").GetString());
        }
        bool? anomalous = root.TryGetProperty("anomalous", out var a) ? a.GetBoolean() : null;
        var result = new ImageResultRecord(input, score.GetDouble(), anomalous, Optional(root, "map"), Optional(root, "overlay"), Optional(root, "mask"),
            OptionalInt(root, "width"), OptionalInt(root, "height"));
        return new JournalEntry(input, size, mtime, result, null);
    }

    private static string? Optional(JsonElement root, string name) => root.TryGetProperty(name, out var v) ? v.GetString() : null;

    private static int? OptionalInt(JsonElement root, string name) => root.TryGetProperty(name, out var v) ? v.GetInt32() : null;

    /// <summary>Length of the journal up to and including its last newline.</summary>
    private static long CompleteLength(FileStream stream)
    {
        var length = stream.Length;
        var chunk = new byte[4096];
        while (length > 0)
        {
            var start = Math.Max(0, length - chunk.Length);
            stream.Position = start;
            stream.ReadExactly(chunk, 0, (int)(length - start));
            var newline = chunk.AsSpan(0, (int)(length - start)).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                return start + newline + 1;
            }
            length = start;
        }
        return 0;
    }
}
