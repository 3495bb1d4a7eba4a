// Replays every committed corpus entry through its harness target (issue #17's CI part, no afl needed): each entry
// must be read or refused with the reader's typed exception, within the target's allocation bound.
using VcpNative.FuzzTargets;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Fuzz;

public class FuzzCorpusReplayTests(ITestOutputHelper log)
{
    [Theory]
    [MemberData(nameof(FuzzCorpus.TargetNames), MemberType = typeof(FuzzCorpus))]
    public void EveryCorpusEntryIsReadOrRefusedWithinBounds(string name)
    {
        var target = FuzzTargetList.Find(name);
        var corpus = FuzzCorpus.Of(name);
        var failures = new List<string>();
        int accepted = 0;
        foreach (var (file, bytes) in corpus)
        {
            var outcome = target.Run(bytes);
            accepted += outcome.Verdict == FuzzVerdict.Accepted ? 1 : 0;
            if (!outcome.IsFine || outcome.Elapsed > FuzzCorpus.HangInCi)
            {
                failures.Add($"{file}: {outcome}");
            }
            else if (FuzzTarget.IsHang(outcome))
            {
                log.WriteLine($"slow (over {FuzzBounds.Time.TotalSeconds} s, under the CI bound): {file}: {outcome}");
            }
        }
        log.WriteLine($"{name}: {corpus.Count} entries, {accepted} accepted, {failures.Count} failed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // A corpus of refusals only would mean the target never reaches the reader's body (e.g. WebP without libSkiaSharp.so).
        Assert.True(accepted > 0, $"no entry of the {name} corpus was accepted; the target only exercises refusals");
    }

    [Fact]
    public void TheTargetListNamesEveryReaderOnce()
    {
        var names = FuzzTargetList.All.Select(t => t.Name).ToList();
        Assert.Equal(names.Distinct().Count(), names.Count);
        Assert.Equal(
            ["png", "jpeg", "bmp", "tiff", "webp", "gif", "safetensors", "pickle", "torchzip", "torchscript", "threshold", "metajson", "visacsv"],
            names);
    }

    [Fact]
    public void AnUndocumentedExceptionOrAnOverAllocationIsAFailure()
    {
        // The verdicts themselves must be able to fail: a target whose reader throws something else, or allocates past its bound.
        var throwing = new FuzzTarget("t", "test", _ => throw new InvalidOperationException("boom"), [typeof(InvalidDataException)], _ => 1 << 20);
        Assert.Equal(FuzzVerdict.Escaped, throwing.Run([1]).Verdict);
        var refusing = throwing with { Read = _ => throw new InvalidDataException("bad") };
        Assert.Equal(FuzzVerdict.Refused, refusing.Run([1]).Verdict);
        var greedy = throwing with { Read = _ => GC.KeepAlive(new byte[4 << 20]) };
        Assert.Equal(FuzzVerdict.OverAllocated, greedy.Run([1]).Verdict);
    }
}
