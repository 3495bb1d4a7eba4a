// Reads a file that another process is still writing (a journal or log a test watches before killing the writer).
namespace VcpNative.Tests;

internal static class GrowingFile
{
    /// <summary>Complete or partial lines in <paramref name="path"/> now; 0 when it does not exist yet or cannot be opened.</summary>
    public static int LineCount(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var n = 0;
            while (reader.ReadLine() is not null)
            {
                n++;
            }
            return n;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
