// Output file names from input stems, so two inputs with the same stem never overwrite each other.
namespace VcpNative.IO.Results;

/// <summary>A repeated stem gets a numeric suffix (part, part_2, part_3...), in input order.</summary>
public sealed class UniqueStems
{
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    /// <summary>The stem of <paramref name="path"/>, suffixed when an earlier path had the same stem.</summary>
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
