// The committed, afl-cmin-minimised corpora of tools/fuzz/corpus/<target>/, read from the repository.
using VcpNative.FuzzTargets;
using Xunit;

namespace VcpNative.Tests.Fuzz;

internal static class FuzzCorpus
{
    /// <summary>Every target's name, as xunit theory data.</summary>
    public static TheoryData<string> TargetNames()
    {
        var data = new TheoryData<string>();
        foreach (var target in FuzzTargetList.All)
        {
            data.Add(target.Name);
        }
        return data;
    }

    /// <summary>The corpus files of <paramref name="target"/>, in ordinal order; fails when there are none.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> Of(string target)
    {
        string folder = Path.Combine(Fixtures.RepositoryRoot(), "tools", "fuzz", "corpus", target);
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToList() : [];
        Assert.True(files.Count > 0, $"no corpus for fuzz target '{target}' in {folder} (tools/fuzz/minimise.sh {target} writes it)");
        return files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
    }

    /// <summary>Ten times the campaigns' 1 s hang bound: a CI read this slow is a hang whatever the machine's load
    /// (tests make no tighter timing assertions); reads over 1 s are printed.</summary>
    public static readonly TimeSpan HangInCi = FuzzBounds.Time * 10;
}
