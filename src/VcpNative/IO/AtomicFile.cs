// Output files are written under a temporary name and renamed, so no reader ever sees a truncated file.
namespace VcpNative.IO;

/// <summary>Whole-file writes that either replace the target completely or leave it as it was.</summary>
public static class AtomicFile
{
    /// <summary>Suffix of the temporary file a write goes to before the rename (left behind only by a killed process).</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> + <see cref="TempSuffix"/>, then renames it over <paramref name="path"/>.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="content">The whole file.</param>
    /// <exception cref="DiskFullException">The file system has no room for the file (the target is unchanged).</exception>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + TempSuffix;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (IOException e) when (DiskFullException.IsDiskFull(e))
        {
            File.Delete(temp);
            throw new DiskFullException(path, content.Length, e);
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark) as <see cref="Write(string, ReadOnlySpan{byte})"/> does.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="text">The whole file.</param>
    public static void Write(string path, string text) => Write(path, System.Text.Encoding.UTF8.GetBytes(text));
}

/// <summary>A write that failed because the file system is full: the file and how many bytes it needed.</summary>
public sealed class DiskFullException : IOException
{
    /// <summary>A full disk while writing <paramref name="fileName"/>.</summary>
    /// <param name="fileName">The file being written.</param>
    /// <param name="bytesNeeded">Bytes the write needed.</param>
    /// <param name="inner">The operating system's error.</param>
    public DiskFullException(string fileName, long bytesNeeded, Exception? inner = null)
        : base($"{fileName}: no space left on device ({bytesNeeded} bytes needed)", inner)
    {
        FileName = fileName;
        BytesNeeded = bytesNeeded;
    }

    /// <summary>The file being written.</summary>
    public string FileName { get; }

    /// <summary>Bytes the write needed.</summary>
    public long BytesNeeded { get; }

    /// <summary>True when <paramref name="e"/> is the operating system's "no space" error (ENOSPC/EDQUOT, or Windows' disk full).</summary>
    /// <param name="e">An I/O error.</param>
    public static bool IsDiskFull(IOException e) =>
        e is DiskFullException || (OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 39 or 112 : e.HResult is 28 or 122);
}
