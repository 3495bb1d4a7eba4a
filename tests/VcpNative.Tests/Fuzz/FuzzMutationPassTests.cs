// The bounded in-process random-mutation pass CI runs over every target's corpus (issue #17): 45 s in all, split
// evenly, fixed seeds so a failure reproduces with `tools/fuzz/out/VcpNative.Fuzz TARGET mutate SECONDS SEED FILES`.
// It replaces the image-only pass of IO/Images (which found the JPEG DHT over-fill and the G4 TIFF hang).
using VcpNative.FuzzTargets;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Fuzz;

public class FuzzMutationPassTests(ITestOutputHelper log)
{
    /// <summary>The whole pass's wall-time budget (the issue allows 60 s), checked between mutants.</summary>
    private static readonly TimeSpan TotalBudget = TimeSpan.FromSeconds(45);

    [Theory]
    [MemberData(nameof(FuzzCorpus.TargetNames), MemberType = typeof(FuzzCorpus))]
    public void MutatedCorpusEntriesAreReadOrRefusedWithinBounds(string name)
    {
        var target = FuzzTargetList.Find(name);
        var corpus = FuzzCorpus.Of(name);
        int seed = 17 + FuzzTargetList.All.ToList().IndexOf(target);
        var budget = TotalBudget / FuzzTargetList.All.Count;
        var report = RandomMutator.Run(target, corpus, new Random(seed), budget);
        log.WriteLine($"{name}: {report.Tried} mutants of {corpus.Count} entries in {report.Elapsed.TotalSeconds:F1} s (seed {seed}); slowest {report.Slowest}");
        foreach (var slow in report.Slow)
        {
            log.WriteLine($"slow (over {FuzzBounds.Time.TotalSeconds} s): {slow}");
        }
        var failures = report.Failures.Concat(report.Slow.Where(s => s.Outcome.Elapsed > FuzzCorpus.HangInCi)).ToList();
        foreach (var failure in failures)
        {
            string saved = Path.Combine(Path.GetTempPath(), $"vcp-mutant-{name}-{failure.Round}");
            File.WriteAllBytes(saved, failure.Mutant);
            log.WriteLine($"saved {saved}");
        }
        Assert.True(report.Tried >= corpus.Count, $"only {report.Tried} mutants of {corpus.Count} entries in {budget.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
