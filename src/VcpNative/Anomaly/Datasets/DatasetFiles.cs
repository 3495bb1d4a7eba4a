// File-system helpers shared by the dataset readers: ordinal listings, image extensions, existence checks with one-line errors.
namespace VcpNative.Anomaly.Datasets;

internal static class DatasetFiles
{
    /// <summary>The one extension list, <see cref="IO.Images.ImageFiles.Extensions"/>.</summary>
    public static bool IsImage(string path) => IO.Images.ImageFiles.IsImage(path);

    public static string[] Images(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return [];
        }

        string[] files = Directory.GetFiles(dir).Where(IsImage).ToArray();
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    public static string[] SubDirectories(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return [];
        }

        string[] dirs = Directory.GetDirectories(dir);
        Array.Sort(dirs, StringComparer.Ordinal);
        return dirs;
    }

    public static string RequireFile(string path, string listedIn)
    {
        if (!File.Exists(path))
        {
            throw new DatasetException($"{listedIn} lists '{path}', which does not exist");
        }

        return path;
    }

    /// <summary>The first existing candidate, or null.</summary>
    public static string? FirstExisting(string dir, string stem, params string[] suffixes)
    {
        foreach (string suffix in suffixes)
        {
            string candidate = Path.Combine(dir, stem + suffix);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
