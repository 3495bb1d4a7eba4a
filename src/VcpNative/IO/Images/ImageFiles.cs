// Finds the image files named by command-line style inputs: files as given, folders searched recursively.
namespace VcpNative.IO.Images;

/// <summary>The image discovery shared by infer, calibrate and the public API.</summary>
public static class ImageFiles
{
    /// <summary>File extensions (lower case, with the dot) taken from folders.</summary>
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp"];

    /// <summary>
    /// Image files named by <paramref name="inputs"/>: a file as given, a folder's images (by <see cref="Extensions"/>)
    /// searched recursively in ordinal order. Inputs that exist as neither are added to <paramref name="missing"/>.
    /// </summary>
    public static List<string> Expand(IEnumerable<string> inputs, ICollection<string> missing)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .ToList();
                found.Sort(StringComparer.Ordinal);
                files.AddRange(found);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                missing.Add(input);
            }
        }
        return files;
    }
}
