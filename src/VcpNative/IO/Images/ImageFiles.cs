// Finds the image files named by command-line style inputs: files as given, folders searched recursively.
namespace VcpNative.IO.Images;

/// <summary>The image discovery shared by infer, calibrate and the public API.</summary>
public static class ImageFiles
{
    /// <summary>File extensions (lower case, with the dot) taken from folders: those of the formats
    /// <see cref="ImageDecoder"/> reads (one list, from its format registry; dataset readers use it too).</summary>
    public static readonly string[] Extensions = [.. ImageCodecs.All.SelectMany(c => c.Extensions)];

    /// <summary>
    /// Image files named by <paramref name="inputs"/>: a file as given, a folder's images (by <see cref="Extensions"/>)
    /// searched recursively in ordinal order. Inputs that exist as neither are added to <paramref name="missing"/>.
    /// </summary>
    /// <param name="inputs">Files and folders.</param>
    /// <param name="missing">Receives inputs that do not exist.</param>
    public static List<string> Expand(IEnumerable<string> inputs, ICollection<string> missing) => Expand(inputs, missing, null, null);

    /// <summary>
    /// As <see cref="Expand(IEnumerable{string}, ICollection{string})"/>; files in folders whose extension is not in
    /// <see cref="Extensions"/> go to <paramref name="unsupported"/>, and nothing under <paramref name="excludedFolder"/>
    /// (a job's own output folder inside an input folder) is taken or listed.
    /// </summary>
    /// <param name="inputs">Files and folders.</param>
    /// <param name="missing">Receives inputs that do not exist.</param>
    /// <param name="unsupported">Receives files found in folders with other extensions; null to ignore them.</param>
    /// <param name="excludedFolder">A folder whose files are never inputs, or null.</param>
    public static List<string> Expand(IEnumerable<string> inputs, ICollection<string> missing, ICollection<string>? unsupported, string? excludedFolder) =>
        Expand(inputs, missing, unsupported, excludedFolder, null);

    /// <summary>As the public overload; <paramref name="keys"/> receives each file's shard key (<see cref="Sharding.ShardKeys.Key"/>), in step with the result.</summary>
    internal static List<string> Expand(IEnumerable<string> inputs, ICollection<string> missing, ICollection<string>? unsupported, string? excludedFolder, List<string>? keys)
    {
        var excluded = excludedFolder is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(excludedFolder)) + Path.DirectorySeparatorChar;
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = new List<string>();
                foreach (var file in Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories))
                {
                    if (excluded is not null && Path.GetFullPath(file).StartsWith(excluded, StringComparison.Ordinal))
                    {
                        continue;
                    }
                    if (IsImage(file))
                    {
                        found.Add(file);
                    }
                    else
                    {
                        unsupported?.Add(file);
                    }
                }
                found.Sort(StringComparer.Ordinal);
                files.AddRange(found);
                keys?.AddRange(found.Select(f => Sharding.ShardKeys.Key(f, input)));
            }
            else if (File.Exists(input))
            {
                files.Add(input);
                keys?.Add(Sharding.ShardKeys.Key(input, null));
            }
            else
            {
                missing.Add(input);
            }
        }
        return files;
    }

    /// <summary>True when <paramref name="path"/> has one of <see cref="Extensions"/> (any case).</summary>
    /// <param name="path">A file name or path.</param>
    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());
}
