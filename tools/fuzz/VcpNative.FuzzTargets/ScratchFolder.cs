// Path-based readers (weights, threshold.json, dataset indexes) get fuzz input through a file in a folder owned by
// the calling thread, reused across inputs so a campaign does not litter the temp directory; every folder made is
// deleted when the process exits (test runs and replays included).
using System.Collections.Concurrent;

namespace VcpNative.FuzzTargets;

internal static class ScratchFolder
{
    [ThreadStatic]
    private static string? _folder;

    private static readonly ConcurrentBag<string> Made = CleanUpAtExit();

    private static ConcurrentBag<string> CleanUpAtExit()
    {
        var made = new ConcurrentBag<string>();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var folder in made)
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                    // Still in use or gone: nothing to do at exit.
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        };
        return made;
    }

    /// <summary>This thread's scratch folder, made on first use.</summary>
    public static string Path
    {
        get
        {
            if (_folder is null)
            {
                _folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vcp-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}");
                Directory.CreateDirectory(_folder);
                Made.Add(_folder);
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
