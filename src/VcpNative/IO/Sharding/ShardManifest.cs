// shard.json and shard-inputs.tsv: what a shard's output folder says about the run it belongs to and the inputs it took.
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VcpNative.IO.Sharding;

/// <summary>
/// The identity of a sharded run (kind, shard count, input roots, count and digest of the full input list, settings)
/// plus this shard's index, how many inputs it took and whether it finished. Written when the shard starts and again,
/// with <see cref="Finished"/> set, as its last act: a folder without the final marker is a shard still running or killed.
/// </summary>
internal sealed record ShardManifest
{
    public const string FileName = "shard.json";
    public const string InputsFileName = "shard-inputs.tsv";
    private const string Format = "vcp-native shard 1";

    /// <summary>"infer" or "eval".</summary>
    public required string Kind { get; init; }

    public required ShardSpec Shard { get; init; }

    /// <summary>The inputs as given (files, folders, or the dataset root).</summary>
    public required IReadOnlyList<string> Roots { get; init; }

    /// <summary>Number of inputs in the full list (all shards).</summary>
    public required int Inputs { get; init; }

    /// <summary><see cref="ShardKeys.Digest"/> of the full list.</summary>
    public required string Digest { get; init; }

    /// <summary>Settings every shard of the run must share (model fingerprint, sizes, thresholds), as one line.</summary>
    public required string Settings { get; init; }

    /// <summary>Named values the merge needs besides the inputs (eval: dataset layout, classes, image size, normalisation).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>A parameter for a merged report's settings block, or a note that shards of an older version lack it.</summary>
    public string Recorded(string key) => Parameters.TryGetValue(key, out var v) ? v : "n/a (shards of an older version)";

    /// <summary>Inputs this shard took.</summary>
    public required int Assigned { get; init; }

    /// <summary>The final marker: the shard ran to its end (not interrupted, not failed).</summary>
    public bool Finished { get; init; }

    /// <summary>True when <paramref name="other"/> is a shard of the same run (index and progress aside).</summary>
    public bool SameRun(ShardManifest other) =>
        Kind == other.Kind && Shard.Count == other.Shard.Count && Inputs == other.Inputs && Digest == other.Digest && Settings == other.Settings
        && Roots.SequenceEqual(other.Roots, StringComparer.Ordinal);

    /// <summary>What differs from <paramref name="other"/>, for an error message.</summary>
    public string Difference(ShardManifest other) =>
        Kind != other.Kind ? $"{Kind} vs {other.Kind}"
        : Shard.Count != other.Shard.Count ? $"{Shard.Count} vs {other.Shard.Count} shards"
        : Digest != other.Digest || Inputs != other.Inputs ? $"input lists differ ({Inputs} inputs, digest {Digest[..12]} vs {other.Inputs} inputs, digest {other.Digest[..12]})"
        : Settings != other.Settings ? $"settings differ ({Settings} vs {other.Settings})"
        : "input roots differ";

    /// <summary>The <see cref="Parameters"/> that carry a batch job's results.json header to the merge.</summary>
    public static Dictionary<string, string> HeaderParameters(Results.ResultsHeader header) => new(StringComparer.Ordinal)
    {
        ["method"] = header.Method,
        ["image_size"] = header.ImageSize.ToString(CultureInfo.InvariantCulture),
        ["threshold"] = header.Threshold?.ToString("R", CultureInfo.InvariantCulture) ?? "",
        ["score_meaning"] = header.ScoreMeaning,
        ["score_maximum"] = header.ScoreMaximum.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>The results.json header <see cref="HeaderParameters"/> recorded.</summary>
    /// <exception cref="ShardException">The manifest records none.</exception>
    public Results.ResultsHeader Header()
    {
        try
        {
            var threshold = Parameters["threshold"];
            return new Results.ResultsHeader(Parameters["method"], int.Parse(Parameters["image_size"], CultureInfo.InvariantCulture),
                threshold.Length == 0 ? null : double.Parse(threshold, CultureInfo.InvariantCulture), Parameters["score_meaning"],
                double.Parse(Parameters["score_maximum"], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is KeyNotFoundException or FormatException)
        {
            throw new ShardException($"shard {Shard}: its {FileName} records no results header ({e.Message})", e);
        }
    }

    /// <summary>Writes shard.json atomically into <paramref name="folder"/>.</summary>
    public void Save(string folder)
    {
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("kind", Kind);
            w.WriteNumber("shard", Shard.Index);
            w.WriteNumber("shards", Shard.Count);
            w.WriteStartArray("roots");
            foreach (var root in Roots)
            {
                w.WriteStringValue(root);
            }
            w.WriteEndArray();
            w.WriteNumber("inputs", Inputs);
            w.WriteString("digest", Digest);
            w.WriteString("settings", Settings);
            w.WriteStartObject("parameters");
            foreach (var (name, value) in Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                w.WriteString(name, value);
            }
            w.WriteEndObject();
            w.WriteNumber("assigned", Assigned);
            w.WriteBoolean("finished", Finished);
            w.WriteEndObject();
        }
        json.WriteByte((byte)'\n');
        AtomicFile.Write(Path.Combine(folder, FileName), json.GetBuffer().AsSpan(0, (int)json.Length));
    }

    /// <summary>The shard.json of <paramref name="folder"/>, or null when there is none.</summary>
    /// <exception cref="ShardException">The file is not a shard manifest.</exception>
    public static ShardManifest? Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.GetProperty("format").GetString() != Format)
            {
                throw new ShardException($"{path}: not a shard manifest of this version (format {root.GetProperty("format")})");
            }
            return new ShardManifest
            {
                Kind = root.GetProperty("kind").GetString()!,
                Shard = new ShardSpec(root.GetProperty("shard").GetInt32(), root.GetProperty("shards").GetInt32()),
                Roots = [.. root.GetProperty("roots").EnumerateArray().Select(r => r.GetString()!)],
                Inputs = root.GetProperty("inputs").GetInt32(),
                Digest = root.GetProperty("digest").GetString()!,
                Settings = root.GetProperty("settings").GetString()!,
                Parameters = root.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
                Assigned = root.GetProperty("assigned").GetInt32(),
                Finished = root.GetProperty("finished").GetBoolean(),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new ShardException($"{path}: not a shard manifest: {e.Message}", e);
        }
    }

    /// <summary>Writes shard-inputs.tsv: "index TAB path" per input this shard took, index in the full list.</summary>
    public static void SaveInputs(string folder, IEnumerable<(int Index, string Path)> inputs)
    {
        var text = new StringBuilder();
        foreach (var (index, path) in inputs)
        {
            text.Append(index.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(path).Append('\n');
        }
        AtomicFile.Write(Path.Combine(folder, InputsFileName), text.ToString());
    }

    /// <summary>The inputs of <see cref="SaveInputs"/>.</summary>
    /// <exception cref="ShardException">The file is missing or a line is not "index TAB path" (naming file and line).</exception>
    public static List<(int Index, string Path)> LoadInputs(string folder)
    {
        var path = Path.Combine(folder, InputsFileName);
        if (!File.Exists(path))
        {
            throw new ShardException($"{path}: missing (the shard did not start)");
        }
        var result = new List<(int, string)>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            var tab = line.IndexOf('\t');
            if (tab < 0 || !int.TryParse(line.AsSpan(0, tab), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                throw new ShardException($"{path}: line {number} is not 'index<TAB>path'");
            }
            result.Add((index, line[(tab + 1)..]));
        }
        return result;
    }
}
