// afl++ entry point: runs one harness target per afl input, turning every outcome that is not "accepted" or "refused
// with the documented exception" into an unhandled exception, which SharpFuzz reports to afl as a crash.
using SharpFuzz;
using VcpNative.FuzzTargets;

// The instrumented assemblies write coverage to afl's shared memory from their first call (here, FuzzTargetList's
// static constructor); until SharpFuzz maps afl's, and in replay mode, they write to a private buffer.
unsafe
{
    SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
}

if (args.Length < 1)
{
    Console.Error.WriteLine($"usage: VcpNative.Fuzz TARGET [replay FILE... | mutate SECONDS SEED FILE...]; targets: {string.Join(", ", FuzzTargetList.All.Select(t => t.Name))}");
    return 2;
}

var target = FuzzTargetList.Find(args[0]);
if (args.Length > 1 && args[1] == "replay")
{
    int failed = 0;
    foreach (string file in args.Skip(2))
    {
        var outcome = target.Run(File.ReadAllBytes(file));
        bool bad = !outcome.IsFine || FuzzTarget.IsHang(outcome);
        failed += bad ? 1 : 0;
        Console.WriteLine($"{(bad ? "FAIL" : "ok  ")} {file}: {outcome}");
        if (outcome.Verdict == FuzzVerdict.Escaped)
        {
            Console.WriteLine(outcome.Exception!.StackTrace);
        }
    }
    return failed == 0 ? 0 : 1;
}

if (args.Length > 4 && args[1] == "mutate")
{
    // VcpNative.Fuzz TARGET mutate SECONDS SEED FILE...: the CI mutation pass on given files, saving what it finds.
    var seeds = args.Skip(4).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
    var report = RandomMutator.Run(target, seeds, new Random(int.Parse(args[3])), TimeSpan.FromSeconds(double.Parse(args[2])));
    Console.WriteLine($"{report.Tried} mutants in {report.Elapsed.TotalSeconds:F1} s; slowest {report.Slowest}");
    foreach (var finding in report.Failures.Concat(report.Slow))
    {
        string saved = $"mutant-{target.Name}-{finding.Round}";
        File.WriteAllBytes(saved, finding.Mutant);
        Console.WriteLine($"{finding} [saved {saved}]");
    }
    return report.Failures.Count + report.Slow.Count == 0 ? 0 : 1;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    var outcome = target.Run(copy.ToArray());
    if (!outcome.IsFine)
    {
        throw new FuzzFailureException(target.Name, outcome);
    }
});
return 0;
