// Locates committed test fixtures (copied next to the test assembly) and reads expected tensors from them.
using VcpNative.WeightsConverter;

namespace VcpNative.Tests;

internal static class Fixtures
{
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    /// <summary>The repository's root folder (the one with VcpNative.sln), found from the test binary upwards.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "VcpNative.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no VcpNative.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Expected tensors written by tools/golden/*.py as safetensors.</summary>
    public static WeightSet Expected(params string[] parts) => WeightLoader.LoadVerbatim(Path(parts));
}
