// Locates the image fixtures written by tools/golden/make_image_fixtures.py (copied next to the test assembly).
using System.Text.Json;
using Xunit;

namespace VcpNative.Tests.IO.Images;

internal static class ImageFixtures
{
    public static string Dir(string sub) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "images", sub);

    public static byte[] Bytes(string sub, string file) => File.ReadAllBytes(Path.Combine(Dir(sub), file));

    public static JsonElement[] Index(string sub)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(sub), "index.json")));
        return [.. doc.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>The value of <paramref name="key"/> in every entry of a fixture index: one theory case per entry.</summary>
    public static TheoryData<string> CaseNames(string sub, string key)
    {
        var data = new TheoryData<string>();
        foreach (var e in Index(sub))
            data.Add(e.GetProperty(key).GetString()!);
        return data;
    }

    /// <summary>The index entry whose <paramref name="key"/> is <paramref name="name"/>.</summary>
    public static JsonElement Entry(string sub, string key, string name) =>
        Index(sub).Single(e => e.GetProperty(key).GetString() == name);

    /// <summary>Count of positions where two byte arrays differ (the golden tests require 0).</summary>
    public static int CountDifferences(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int diff = 0;
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i])
                diff++;
        return diff;
    }
}
