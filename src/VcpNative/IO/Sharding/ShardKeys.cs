// The stable identity of an input for sharding: its path relative to the root it was found under, and a hash of that.
using System.Text;

namespace VcpNative.IO.Sharding;

/// <summary>
/// FNV-1a (64 bit) of the UTF-8 key modulo the shard count: the same in every process, version and machine (unlike
/// <see cref="string.GetHashCode()"/>), and an input's shard does not change when other inputs are added.
/// </summary>
public static class ShardKeys
{
    /// <summary>
    /// <paramref name="file"/> relative to <paramref name="root"/> with '/' separators when it was found in the folder
    /// <paramref name="root"/>; a file named directly is its own root and its key is the path as given.
    /// </summary>
    /// <param name="file">The input file.</param>
    /// <param name="root">The folder it was found under, or null when it was named directly.</param>
    public static string Key(string file, string? root) =>
        (root is null ? file : Path.GetRelativePath(root, file)).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>The shard (0..<paramref name="count"/>-1) of the input with <paramref name="key"/>.</summary>
    /// <param name="key">See <see cref="Key"/>.</param>
    /// <param name="count">Number of shards.</param>
    public static int ShardOf(string key, int count)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return (int)(hash % (ulong)count);
    }

    /// <summary>SHA-256 (hex) of the full ordered input list, one path and a newline each: what every shard of one run shares.</summary>
    /// <param name="inputs">All inputs of the run, in order.</param>
    public static string Digest(IEnumerable<string> inputs)
    {
        var sha = new Sha256(); // managed SHA-256: no libssl (IO/Sha256.cs)
        foreach (var input in inputs)
        {
            sha.Append(Encoding.UTF8.GetBytes(input + "\n"));
        }
        return sha.FinishHex();
    }
}
