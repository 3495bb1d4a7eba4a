// Output file names from input stems, so two inputs with the same stem never overwrite each other.
namespace VcpNative.Cli;

/// <summary>A repeated stem gets a numeric suffix (part, part_2, part_3...), in input order.</summary>
public sealed class UniqueStems
{
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    public string For(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        var candidate = stem;
        for (var n = 2; !used.Add(candidate); n++)
        {
            candidate = $"{stem}_{n}";
        }
        return candidate;
    }
}
