// Locates the Python-written weight fixtures and reads their expected values without using the code under test.
using System.Runtime.InteropServices;
using System.Text.Json;

namespace VcpNative.Tests.WeightsConverter;

internal static class WeightFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Fixtures", "weights");

    public static string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>name -> (shape, float32 values) from `{stem}.json` + `{stem}.bin`, written by numpy in make_weight_fixtures.py.</summary>
    public static Dictionary<string, (long[] Shape, float[] Values)> ReadExpected(string stem)
    {
        var floats = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf(stem + ".bin"))).ToArray();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(PathOf(stem + ".json")));
        var result = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var offset = p.Value.GetProperty("offset").GetInt32();
            result[p.Name] = (shape, floats.AsSpan(offset, count).ToArray());
        }
        return result;
    }

    /// <summary>A copy of a fixture in a fresh temp folder, optionally cut or patched, for corruption tests.</summary>
    public static string TempCopy(byte[] bytes, string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "vcp-weights-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
