// Path-based readers (weights, threshold.json, dataset indexes) get fuzz input through a file in a folder owned by
// the calling thread, reused across inputs so a campaign does not litter the temp directory.
namespace VcpNative.FuzzTargets;

internal static class ScratchFolder
{
    [ThreadStatic]
    private static string? _folder;

    /// <summary>This thread's scratch folder, made on first use.</summary>
    public static string Path
    {
        get
        {
            if (_folder is null)
            {
                _folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vcp-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}");
                Directory.CreateDirectory(_folder);
            }
            return _folder;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="relative"/> under the folder and returns its full path.</summary>
    public static string Write(string relative, byte[] bytes)
    {
        string path = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
