// `merge`: the output folders of a sharded infer or eval run into one, equal to a single run's, after checking nothing is lost.
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Reports;
using VcpNative.IO.Results;
using VcpNative.IO.Sharding;

namespace VcpNative;

/// <summary>How <see cref="ShardMerge.Run"/> brings a shard's maps, overlays and masks into the merged folder.</summary>
public enum MergedFiles
{
    /// <summary>Copy them (the shard folders stay whole; a merge can be repeated).</summary>
    Copy,

    /// <summary>Move (rename) them: no extra space on one file system; the shard folders lose them.</summary>
    Move,

    /// <summary>Symbolic links to the shard folders' files (absolute paths): the shard folders must stay.</summary>
    Symlink,
}

/// <summary>What <see cref="ShardMerge.Run"/> merges and where.</summary>
public sealed record ShardMergeOptions
{
    /// <summary>The merged folder: absent or empty (nothing is overwritten).</summary>
    public required string Output { get; init; }

    /// <summary>Every shard's output folder, each shard once.</summary>
    public required IReadOnlyList<string> Shards { get; init; }

    /// <summary>How maps, overlays and masks are brought over.</summary>
    public MergedFiles Files { get; init; } = MergedFiles.Copy;

    /// <summary>Expect shards of a sharded eval (true) or infer (false); null = whichever they are.</summary>
    public bool? Eval { get; init; }

    /// <summary>Whether the merged folder gets report.html as a single run writes it (infer: the gallery from the merged results, with the shards' thumbnails; eval: metrics, curves, worst images).</summary>
    public bool WriteReport { get; init; } = true;
}

/// <summary>What a merge wrote.</summary>
/// <param name="Kind">"infer" or "eval".</param>
/// <param name="Shards">Number of shards merged.</param>
/// <param name="Inputs">Inputs of the full list.</param>
/// <param name="Failed">Inputs whose record is an error.</param>
/// <param name="Rows">Per-class metrics of an eval merge; empty for infer.</param>
public sealed record ShardMergeOutcome(string Kind, int Shards, int Inputs, int Failed, IReadOnlyList<ClassMetrics> Rows);

/// <summary>
/// Checks that the shard folders are all the shards of one run, all finished, and that every input of the full list is
/// in exactly one of them; only then writes the merged folder. See docs/scale.md.
/// </summary>
public static class ShardMerge
{
    /// <summary>Checks and merges.</summary>
    /// <param name="options">Shard folders, the merged folder, how files are brought over.</param>
    /// <exception cref="ShardException">The shards cannot be merged (its message and <see cref="ShardException.Details"/> say why); nothing was written.</exception>
    public static ShardMergeOutcome Run(ShardMergeOptions options)
    {
        if (Directory.Exists(options.Output) && Directory.EnumerateFileSystemEntries(options.Output).Any() || File.Exists(options.Output))
        {
            throw new ShardException($"{options.Output} is not empty: merge writes into a new or empty folder and overwrites nothing");
        }
        var shards = CheckShards(options);
        var first = shards[0].Manifest;
        var paths = CheckInputs(shards, first);
        return first.Kind == EvalShard.Kind
            ? EvalShard.Merge(shards, paths, options.Output, options.WriteReport)
            : MergeInfer(shards, paths, options);
    }

    /// <summary>A shard folder and its manifest.</summary>
    internal sealed record Shard(string Folder, ShardManifest Manifest);

    private static List<Shard> CheckShards(ShardMergeOptions options)
    {
        if (options.Shards.Count == 0)
        {
            throw new ShardException("no shard folders to merge");
        }
        var shards = new List<Shard>();
        foreach (var folder in options.Shards)
        {
            if (!Directory.Exists(folder))
            {
                throw new ShardException($"{folder}: no such folder");
            }
            var manifest = ShardManifest.Load(folder)
                ?? throw new ShardException($"{folder}: no {ShardManifest.FileName}: not the output folder of 'infer --shard' or 'eval --shard'");
            shards.Add(new Shard(folder, manifest));
        }
        var first = shards[0];
        var kind = options.Eval switch { true => EvalShard.Kind, false => "infer", null => first.Manifest.Kind };
        var byIndex = new Dictionary<int, Shard>();
        foreach (var shard in shards)
        {
            if (shard.Manifest.Kind != kind)
            {
                throw new ShardException($"{shard.Folder}: a shard of '{shard.Manifest.Kind}', not of '{kind}'{(options.Eval is null ? $" like {first.Folder}" : "")}");
            }
            if (!shard.Manifest.SameRun(first.Manifest))
            {
                throw new ShardException($"{first.Folder} and {shard.Folder} are shards of different runs: {first.Manifest.Difference(shard.Manifest)}");
            }
            if (!byIndex.TryAdd(shard.Manifest.Shard.Index, shard))
            {
                throw new ShardException($"shard {shard.Manifest.Shard} given twice: {byIndex[shard.Manifest.Shard.Index].Folder} and {shard.Folder}");
            }
        }
        var count = first.Manifest.Shard.Count;
        var missing = Enumerable.Range(0, count).Where(i => !byIndex.ContainsKey(i)).ToList();
        if (missing.Count > 0)
        {
            var unaccounted = first.Manifest.Inputs - shards.Sum(s => s.Manifest.Assigned);
            throw new ShardException($"shard{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} of {count} missing: {unaccounted} of {first.Manifest.Inputs} inputs are in no given folder");
        }
        foreach (var shard in shards)
        {
            if (!shard.Manifest.Finished)
            {
                throw new ShardException($"{shard.Folder}: shard {shard.Manifest.Shard} has not finished (no final marker in {ShardManifest.FileName}): still running or stopped; rerun it (it resumes) before merging");
            }
        }
        return [.. shards.OrderBy(s => s.Manifest.Shard.Index)];
    }

    /// <summary>The full input list from the shards' lists: each index exactly once, and the list's digest the manifests'.</summary>
    private static string[] CheckInputs(List<Shard> shards, ShardManifest first)
    {
        var paths = new string?[first.Inputs];
        var owner = new int[first.Inputs];
        var details = new List<string>();
        foreach (var shard in shards)
        {
            var mine = ShardManifest.LoadInputs(shard.Folder);
            if (mine.Count != shard.Manifest.Assigned)
            {
                throw new ShardException($"{Path.Combine(shard.Folder, ShardManifest.InputsFileName)}: {mine.Count} inputs, but {ShardManifest.FileName} says {shard.Manifest.Assigned}");
            }
            foreach (var (index, path) in mine)
            {
                if (index < 0 || index >= paths.Length)
                {
                    throw new ShardException($"{Path.Combine(shard.Folder, ShardManifest.InputsFileName)}: input index {index} outside the full list of {paths.Length}");
                }
                if (paths[index] is not null)
                {
                    details.Add($"duplicated: {path} (shards {owner[index]} and {shard.Manifest.Shard.Index})");
                    continue;
                }
                paths[index] = path;
                owner[index] = shard.Manifest.Shard.Index;
            }
        }
        for (var i = 0; i < paths.Length; i++)
        {
            if (paths[i] is null)
            {
                details.Add($"missing: input {i} of the full list is in no shard");
            }
        }
        if (details.Count > 0)
        {
            throw new ShardException($"the shards do not hold every input exactly once ({details.Count} problem(s)); nothing was written") { Details = details };
        }
        if (ShardKeys.Digest(paths!) != first.Digest)
        {
            throw new ShardException($"the shards' input lists do not add up to the run's (digest {first.Digest[..12]}): a shard folder was changed after its run");
        }
        return paths!;
    }

    private static ShardMergeOutcome MergeInfer(List<Shard> shards, string[] paths, ShardMergeOptions options)
    {
        // Every input's last journal line in its own shard (a later line for the same input wins, as in --resume).
        var entries = new Dictionary<string, (JournalEntry Entry, Shard Shard)>(StringComparer.Ordinal);
        foreach (var shard in shards)
        {
            List<JournalEntry> journal;
            try
            {
                journal = ResultsJournal.Read(shard.Folder);
            }
            catch (InvalidDataException e)
            {
                throw new ShardException(e.Message, e);
            }
            foreach (var entry in journal)
            {
                entries[entry.Input] = (entry, shard);
            }
        }
        var missing = new List<string>();
        foreach (var shard in shards)
        {
            foreach (var (_, path) in ShardManifest.LoadInputs(shard.Folder))
            {
                if (!entries.TryGetValue(path, out var found) || found.Shard != shard)
                {
                    missing.Add($"missing: {path} (shard {shard.Manifest.Shard.Index}): no line in {Path.Combine(shard.Folder, ResultsJournal.FileName)}");
                }
            }
        }
        if (missing.Count > 0)
        {
            throw new ShardException($"{missing.Count} input(s) have no result in their shard's journal; nothing was written") { Details = missing };
        }
        var ordered = new List<JournalEntry>(paths.Length);
        var files = new List<(string From, string To)>();
        foreach (var path in paths)
        {
            var (entry, shard) = entries[path];
            ordered.Add(entry);
            if (entry.Result is { } r)
            {
                foreach (var file in new[] { r.Map, r.Overlay, r.Mask })
                {
                    if (file is not null)
                    {
                        var from = Path.Combine(shard.Folder, file);
                        files.Add(File.Exists(from) ? (from, Path.Combine(options.Output, file)) : throw new ShardException($"{from}: missing (its journal line names it)"));
                    }
                }
                // The shard's report thumbnail, when it made one (else the report makes it from the overlay).
                if (options.WriteReport && r.Overlay is not null && Path.Combine(shard.Folder, InferReport.ThumbnailFor(r.Overlay)) is var thumbnail
                    && File.Exists(thumbnail))
                {
                    files.Add((thumbnail, Path.Combine(options.Output, InferReport.ThumbnailFor(r.Overlay))));
                }
            }
        }
        var header = shards[0].Manifest.Header();
        Directory.CreateDirectory(options.Output);
        foreach (var (from, to) in files)
        {
            BringOver(from, to, options.Files);
        }
        using (var journal = new ResultsJournal(options.Output))
        {
            for (var i = 0; i < ordered.Count; i++)
            {
                journal.Add(ordered[i]);
                if (i % 4096 == 4095)
                {
                    journal.Flush();
                }
            }
            journal.Flush();
        }
        ResultsWriter.Write(options.Output, ordered, header);
        if (options.WriteReport)
        {
            var recorded = shards[0].Manifest;
            InferReport.Write(options.Output, new InferReportSettings(recorded.Recorded("clip"), recorded.Recorded("head"),
                $"merged from {shards.Count} shards (each with its own device and batch size)", recorded.Recorded("fingerprint")));
        }
        return new ShardMergeOutcome("infer", shards.Count, paths.Length, ordered.Count(e => e.Result is null), []);
    }

    private static void BringOver(string from, string to, MergedFiles how)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        switch (how)
        {
            case MergedFiles.Move:
                File.Move(from, to);
                break;
            case MergedFiles.Symlink:
                File.CreateSymbolicLink(to, Path.GetFullPath(from));
                break;
            default:
                File.Copy(from, to);
                break;
        }
    }
}
