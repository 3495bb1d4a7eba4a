// A fresh, empty folder under the system temp directory for one test; Dispose deletes it with everything inside.
namespace VcpNative.Tests;

internal sealed class TempDirectory : IDisposable
{
    /// <summary>Creates &lt;temp&gt;/vcp-&lt;purpose&gt;-tests/&lt;guid&gt;; the purpose only tells leftover folders apart.</summary>
    public TempDirectory(string purpose)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vcp-{purpose}-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open elsewhere (or already removed) only leaves a folder in temp; not a test failure.
        }
    }
}
