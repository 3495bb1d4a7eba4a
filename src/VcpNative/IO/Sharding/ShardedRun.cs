// One shard's side of a sharded run: which inputs it takes, and the manifest it keeps in its output folder.
namespace VcpNative.IO.Sharding;

/// <summary>
/// Built from the full ordered input list and each input's key; takes the inputs whose key hashes to the shard, and
/// writes shard.json (final marker unset) and shard-inputs.tsv when it starts and shard.json with the marker when it ends.
/// </summary>
internal sealed class ShardedRun
{
    /// <summary>Roots recorded in shard.json at most (a --files-from list of a million files is summarised by the digest).</summary>
    private const int MaxRoots = 64;

    private readonly bool[] owned;

    public ShardedRun(string kind, ShardSpec spec, IReadOnlyList<string> roots, IReadOnlyList<string> files, IReadOnlyList<string> keys, string settings,
        IReadOnlyDictionary<string, string>? parameters = null)
    {
        owned = new bool[files.Count];
        var assigned = 0;
        for (var i = 0; i < files.Count; i++)
        {
            owned[i] = spec.Owns(keys[i]);
            assigned += owned[i] ? 1 : 0;
        }
        Manifest = new ShardManifest
        {
            Kind = kind,
            Shard = spec,
            Roots = roots.Count <= MaxRoots ? roots : [.. roots.Take(MaxRoots), $"... {roots.Count - MaxRoots} more"],
            Inputs = files.Count,
            Digest = ShardKeys.Digest(files),
            Settings = settings,
            Parameters = parameters ?? new Dictionary<string, string>(),
            Assigned = assigned,
        };
    }

    public ShardManifest Manifest { get; private set; }

    /// <summary>True when input <paramref name="index"/> of the full list is this shard's.</summary>
    public bool Owns(int index) => owned[index];

    /// <summary>This shard's items of <paramref name="all"/> (in step with the full input list), in order.</summary>
    public List<T> Select<T>(IReadOnlyList<T> all)
    {
        var mine = new List<T>(Manifest.Assigned);
        for (var i = 0; i < all.Count; i++)
        {
            if (owned[i])
            {
                mine.Add(all[i]);
            }
        }
        return mine;
    }

    /// <summary>
    /// True when <paramref name="folder"/> holds this very shard of this run (a retried shard resumes it), false when it
    /// holds no shard manifest.
    /// </summary>
    /// <exception cref="ShardException">It holds another shard or a shard of another run.</exception>
    public bool Continues(string folder)
    {
        if (ShardManifest.Load(folder) is not { } earlier)
        {
            return false;
        }
        if (!earlier.SameRun(Manifest) || earlier.Shard != Manifest.Shard)
        {
            var why = earlier.SameRun(Manifest) ? $"shard {earlier.Shard}, not {Manifest.Shard}" : earlier.Difference(Manifest);
            throw new ShardException($"{folder} holds shard {earlier.Shard} of another run ({why}); give another output folder or --overwrite");
        }
        return true;
    }

    /// <summary>shard.json without the final marker (with <paramref name="parameters"/> when given, known only once the model loaded) and shard-inputs.tsv (index in the full list, path).</summary>
    public void Start(string folder, IReadOnlyList<string> files, IReadOnlyDictionary<string, string>? parameters = null)
    {
        Manifest = Manifest with { Finished = false, Parameters = parameters ?? Manifest.Parameters };
        var mine = new List<(int, string)>(Manifest.Assigned);
        for (var i = 0; i < files.Count; i++)
        {
            if (owned[i])
            {
                mine.Add((i, files[i]));
            }
        }
        ShardManifest.SaveInputs(folder, mine);
        Manifest.Save(folder);
    }

    /// <summary>The final marker: shard.json with <see cref="ShardManifest.Finished"/> set.</summary>
    public void Finish(string folder)
    {
        Manifest = Manifest with { Finished = true };
        Manifest.Save(folder);
    }
}
