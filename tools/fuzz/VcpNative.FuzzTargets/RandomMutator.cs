// The in-process mutation pass CI runs (no afl): fixed-seed random mutants of a target's corpus, each read through
// the target, for a bounded wall time. It found the JPEG DHT over-fill and the CCITT G4 TIFF hang before afl did.
using System.Diagnostics;

namespace VcpNative.FuzzTargets;

/// <summary>One mutant whose outcome was not fine, or that took longer than the hang bound.</summary>
public sealed record MutantFinding(string Seed, string How, int Round, FuzzOutcome Outcome, byte[] Mutant)
{
    /// <summary>One line naming the seed, the mutation and the outcome.</summary>
    public override string ToString() => $"{Seed} ({How}), round {Round}: {Outcome}";
}

/// <summary>What a pass did: mutants tried, the findings, and the slowest read.</summary>
public sealed record MutationReport(int Tried, TimeSpan Elapsed, IReadOnlyList<MutantFinding> Failures, IReadOnlyList<MutantFinding> Slow, MutantFinding? Slowest);

/// <summary>Byte flips, truncations, duplicated runs and random runs, as the afl havoc stage does them, without afl.</summary>
public static class RandomMutator
{
    /// <summary>
    /// Mutates the seeds round-robin with <paramref name="rng"/> until <paramref name="budget"/> has passed (checked
    /// between mutants) or <paramref name="maxFailures"/> failures are found. A failure is an outcome that is not
    /// fine; a read slower than <see cref="FuzzBounds.Time"/> is listed in <see cref="MutationReport.Slow"/>.
    /// </summary>
    public static MutationReport Run(FuzzTarget target, IReadOnlyList<(string Name, byte[] Bytes)> seeds, Random rng, TimeSpan budget, int maxFailures = 10)
    {
        if (seeds.Count == 0)
        {
            throw new ArgumentException($"no seeds for target {target.Name}");
        }
        var clock = Stopwatch.StartNew();
        var failures = new List<MutantFinding>();
        var slow = new List<MutantFinding>();
        MutantFinding? slowest = null;
        int round = 0;
        for (; clock.Elapsed < budget && failures.Count < maxFailures; round++)
        {
            var (name, original) = seeds[round % seeds.Count];
            byte[] mutant = Mutate(original, rng, out string how);
            var outcome = target.Run(mutant);
            var finding = new MutantFinding(name, how, round, outcome, mutant);
            if (!outcome.IsFine)
            {
                failures.Add(finding);
            }
            if (FuzzTarget.IsHang(outcome))
            {
                slow.Add(finding);
            }
            if (slowest is null || outcome.Elapsed > slowest.Outcome.Elapsed)
            {
                slowest = finding;
            }
        }
        return new MutationReport(round, clock.Elapsed, failures, slow, slowest);
    }

    /// <summary>One to four byte flips (half of them in the first 64 bytes, where headers are), a truncation, a
    /// duplicated run, or a run of random bytes.</summary>
    public static byte[] Mutate(byte[] original, Random rng, out string how)
    {
        var bytes = (byte[])original.Clone();
        if (bytes.Length == 0)
        {
            how = "one random byte";
            return [(byte)rng.Next(256)];
        }
        switch (rng.Next(4))
        {
            case 0:
                int flips = rng.Next(1, 5);
                var at = new List<int>();
                for (int i = 0; i < flips; i++)
                {
                    int p = rng.Next(2) == 0 ? rng.Next(Math.Min(64, bytes.Length)) : rng.Next(bytes.Length);
                    bytes[p] = (byte)rng.Next(256);
                    at.Add(p);
                }
                how = "bytes at " + string.Join(",", at);
                return bytes;
            case 1:
                int keep = rng.Next(bytes.Length);
                how = $"truncated to {keep}";
                return bytes[..keep];
            case 2:
                int start = rng.Next(bytes.Length);
                int length = Math.Min(rng.Next(1, 64), bytes.Length - start);
                how = $"{length} bytes at {start} repeated";
                return [.. bytes[..(start + length)], .. bytes[start..]];
            default:
                int from = rng.Next(bytes.Length);
                int count = Math.Min(rng.Next(1, 32), bytes.Length - from);
                rng.NextBytes(bytes.AsSpan(from, count));
                how = $"{count} random bytes at {from}";
                return bytes;
        }
    }
}
