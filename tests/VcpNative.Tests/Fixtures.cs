// Locates committed test fixtures (copied next to the test assembly) and reads expected tensors from them.
using VcpNative.WeightsConverter;

namespace VcpNative.Tests;

internal static class Fixtures
{
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    /// <summary>Expected tensors written by tools/golden/*.py as safetensors.</summary>
    public static WeightSet Expected(params string[] parts) => WeightLoader.LoadVerbatim(Path(parts));
}
