// End-to-end tests of sharded infer/eval and `merge`: equal to a single run, retried shards resume, and every bad input refused.
// Most runs skip report.html (its settings block has a date) so the folders can be compared file for file; one test
// checks the merged report against a single run's.
using System.Text.Json;
using VcpNative.Cli;
using VcpNative.IO.Images;
using VcpNative.IO.Results;
using Xunit;

namespace VcpNative.Tests.Cli;

public class ShardMergeTests
{
    private static string[] Infer(string output, string inputs, params string[] more) =>
    [
        "infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
        "--image-size", "56", "--threshold", "0.5", "--batch-size", "2", "--save-maps", "--no-report", "-o", output, .. more, inputs,
    ];

    /// <summary>Images in two subfolders with the same file names, so output stems need suffixes across shards.</summary>
    private static string Images(string dir, int count)
    {
        var inputs = Path.Combine(dir, "in");
        for (var i = 0; i < count; i++)
        {
            var rng = new Random(i);
            var img = new RgbImage(40 + i % 3, 36);
            rng.NextBytes(img.Pixels);
            var folder = Path.Combine(inputs, i % 2 == 0 ? "a" : "b");
            Directory.CreateDirectory(folder);
            PngEncoder.Write(Path.Combine(folder, $"img{i / 2:D3}.png"), img);
        }
        return inputs;
    }

    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRun.Run(args);

    private static void Ok((int Code, string Out, string Err) r) => Assert.True(r.Code == 0, r.Err + r.Out);

    /// <summary>Every file of two folders, byte for byte (no timing fields exist in infer's outputs).</summary>
    private static void AssertSameFolder(string expected, string actual)
    {
        var files = Directory.EnumerateFiles(expected, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(expected, f)).Order().ToList();
        Assert.Equal(files, Directory.EnumerateFiles(actual, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(actual, f)).Order());
        foreach (var f in files)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(expected, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, f))), $"{f} differs");
        }
    }

    /// <summary>A single run and three shards of the same inputs; returns (inputs, single, shard folders).</summary>
    private static (string Inputs, string Single, string[] Shards) SingleAndShards(string dir, int images = 10)
    {
        var inputs = Images(dir, images);
        var single = Path.Combine(dir, "single");
        Ok(Cli(Infer(single, inputs)));
        var shards = Enumerable.Range(0, 3).Select(i => Path.Combine(dir, $"shard{i}")).ToArray();
        for (var i = 0; i < 3; i++)
        {
            Ok(Cli(Infer(shards[i], inputs, "--shard", $"{i}/3")));
        }
        return (inputs, single, shards);
    }

    [Fact]
    public void ThreeShardsMergedEqualASingleRunByteForByte()
    {
        using var temp = new TempDirectory("shard");
        var (_, single, shards) = SingleAndShards(temp.Path);
        Assert.All(shards, s => Assert.InRange(ResultsJournal.Read(s).Count, 1, 9)); // each shard took some, none took all
        var merged = Path.Combine(temp.Path, "merged");
        var r = Cli(["merge", "--no-report", "-o", merged, .. shards]);
        Ok(r);
        Assert.Contains("3 shards, 10 inputs (0 failed)", r.Out);
        AssertSameFolder(single, merged); // results.json, .csv, .jsonl, maps, overlays, masks (img000_2... stems as a single run names them)
        Assert.True(File.Exists(Path.Combine(merged, "overlays", "img000_2.png")));

        var moved = Path.Combine(temp.Path, "moved");
        Ok(Cli(["merge", "--no-report", "--files", "move", "-o", moved, .. shards]));
        AssertSameFolder(single, moved);
        Assert.Empty(Directory.GetFiles(Path.Combine(shards[0], "overlays")));
    }

    [Fact]
    public void ARetriedShardResumesAndATornLastJournalLineIsRedone()
    {
        using var temp = new TempDirectory("shard");
        var (inputs, single, shards) = SingleAndShards(temp.Path);
        // A kill mid-write: the last line torn, the final marker not yet written.
        var journal = Path.Combine(shards[1], ResultsJournal.FileName);
        var bytes = File.ReadAllBytes(journal);
        File.WriteAllBytes(journal, bytes[..^20]);
        var manifest = Path.Combine(shards[1], "shard.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"finished\": true", "\"finished\": false"));
        var lines = File.ReadAllLines(journal).Length;

        var unfinished = Cli(["merge", "-o", Path.Combine(temp.Path, "early"), .. shards]);
        Assert.Equal(1, unfinished.Code);
        Assert.Contains("shard 1/3 has not finished", unfinished.Err);
        Assert.Single(unfinished.Err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "early")));

        var again = Cli(Infer(shards[1], inputs, "--shard", "1/3")); // the same command, as Slurm's requeue runs it
        Ok(again);
        Assert.Contains($"{lines - 1} input(s) finished by the earlier run were skipped", again.Out);
        var merged = Path.Combine(temp.Path, "merged");
        Ok(Cli(["merge", "--no-report", "-o", merged, .. shards]));
        AssertSameFolder(single, merged);
    }

    [Fact]
    public void MergedInferShardsGetTheReportASingleRunWrites()
    {
        using var temp = new TempDirectory("shard");
        var inputs = Images(temp.Path, 10);
        string[] WithReport(string output, params string[] more) => [.. Infer(output, inputs, more).Where(a => a != "--no-report")];
        var single = Path.Combine(temp.Path, "single");
        Ok(Cli(WithReport(single)));
        var shards = Enumerable.Range(0, 3).Select(i => Path.Combine(temp.Path, $"shard{i}")).ToArray();
        for (var i = 0; i < 3; i++)
        {
            Ok(Cli(WithReport(shards[i], "--shard", $"{i}/3")));
        }
        var merged = Path.Combine(temp.Path, "merged");
        Ok(Cli(["merge", "-o", merged, .. shards]));
        // The gallery's data and every thumbnail are the single run's, byte for byte; the page names the shards and the model.
        const string files = "report_files";
        AssertSameFolder(Path.Combine(single, files), Path.Combine(merged, files));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(merged, files, "thumbs")));
        var page = File.ReadAllText(Path.Combine(merged, "report.html"));
        Assert.Contains("merged from 3 shards", page);
        Assert.Contains(ModelFingerprint.Of(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth")), page);
        Assert.Contains("tiny_clip.pt", page);

        // A shard made without thumbnails (--no-report) still gets them in the merged report, from its overlays.
        var bare = Path.Combine(temp.Path, "bare0");
        Ok(Cli(Infer(bare, inputs, "--shard", "0/3")));
        var mixed = Path.Combine(temp.Path, "mixed");
        Ok(Cli(["merge", "-o", mixed, bare, shards[1], shards[2]]));
        AssertSameFolder(Path.Combine(single, files), Path.Combine(mixed, files));

        var none = Path.Combine(temp.Path, "none");
        Ok(Cli(["merge", "--no-report", "-o", none, .. shards]));
        Assert.False(File.Exists(Path.Combine(none, "report.html")));
        Assert.False(Directory.Exists(Path.Combine(none, files)));
    }

    [Fact]
    public void BadShardSetsAreOneLineErrorsAndWriteNothing()
    {
        using var temp = new TempDirectory("shard");
        var (inputs, _, shards) = SingleAndShards(temp.Path);
        var merged = Path.Combine(temp.Path, "merged");
        void Refused(string why, params string[] args)
        {
            var r = Cli(["merge", "-o", merged, .. args]);
            Assert.Equal(1, r.Code);
            Assert.Contains(why, r.Err);
            Assert.StartsWith("vcp-native: error: ", r.Err);
            Assert.False(Directory.Exists(merged), why);
        }
        Refused("shard 2 of 3 missing", shards[0], shards[1]);
        Refused("shard 1/3 given twice", shards[0], shards[1], shards[1], shards[2]);
        Refused("no shard.json", shards[0], shards[1], inputs);
        Refused("a shard of 'infer', not of 'eval'", ["--eval", .. shards]);

        // Another run: other threshold, same inputs.
        var other = Path.Combine(temp.Path, "other2");
        Ok(Cli([.. Infer(other, inputs, "--shard", "2/3")[..^1].Select(a => a == "0.5" ? "0.7" : a), inputs]));
        Refused("are shards of different runs: settings differ", shards[0], shards[1], other);
        // Other inputs (one more image): the digests differ.
        var more = Path.Combine(temp.Path, "more");
        var extra = Images(Path.Combine(temp.Path, "x"), 11);
        Ok(Cli(Infer(more, extra, "--shard", "2/3")));
        Refused("input lists differ", shards[0], shards[1], more);
        // Other N.
        var four = Path.Combine(temp.Path, "four");
        Ok(Cli(Infer(four, inputs, "--shard", "2/4")));
        Refused("3 vs 4 shards", shards[0], shards[1], four);

        // A garbled line in the middle of a journal: an error naming file and line (merge and the shard's own retry).
        var journal = Path.Combine(shards[2], ResultsJournal.FileName);
        var original = File.ReadAllLines(journal);
        Assert.True(original.Length >= 2);
        File.WriteAllLines(journal, [original[0], "{\"input\": garbled", .. original[1..]]);
        Refused($"{journal}: line 2 is not a journal entry", shards);
        var retry = Cli(Infer(shards[2], inputs, "--shard", "2/3"));
        Assert.Equal(1, retry.Code);
        Assert.Contains($"{journal}: line 2 is not a journal entry", retry.Err);

        // A shard folder of another run is not resumed into, and a non-empty merge folder is not written into.
        var wrong = Cli(Infer(shards[0], inputs, "--shard", "1/3"));
        Assert.NotEqual(0, wrong.Code);
        Assert.Contains("holds shard 0/3 of another run", wrong.Err);
        Directory.CreateDirectory(merged);
        File.WriteAllText(Path.Combine(merged, "keep.txt"), "mine");
        var full = Cli(["merge", "-o", merged, shards[0], shards[1]]);
        Assert.Equal(1, full.Code);
        Assert.Contains("is not empty", full.Err);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(merged, "keep.txt")));
    }

    [Fact]
    public void MissingInputsAreListedWithTheirShards()
    {
        using var temp = new TempDirectory("shard");
        var (_, _, shards) = SingleAndShards(temp.Path);
        // A journal that lost an input (a shard folder changed by hand after its run).
        var journal = Path.Combine(shards[0], ResultsJournal.FileName);
        var lines = File.ReadAllLines(journal);
        var lost = JsonDocument.Parse(lines[0]).RootElement.GetProperty("input").GetString()!;
        File.WriteAllLines(journal, lines[1..]);
        var merged = Path.Combine(temp.Path, "merged");
        var r = Cli(["merge", "-o", merged, .. shards]);
        Assert.Equal(1, r.Code);
        Assert.Contains($"missing: {lost} (shard 0)", r.Err);
        Assert.False(Directory.Exists(merged));
    }

    [Fact]
    public void DuplicatedAndMissingInputsAreListedWithTheirShards()
    {
        using var temp = new TempDirectory("shard");
        var (_, _, shards) = SingleAndShards(temp.Path);
        // Shard 1's list claims shard 0's first input instead of its own first one (a folder edited or mixed up by hand).
        var list0 = File.ReadAllLines(Path.Combine(shards[0], "shard-inputs.tsv"));
        var list1Path = Path.Combine(shards[1], "shard-inputs.tsv");
        var list1 = File.ReadAllLines(list1Path);
        File.WriteAllLines(list1Path, [list0[0], .. list1[1..]]);
        var merged = Path.Combine(temp.Path, "merged");
        var r = Cli(["merge", "-o", merged, .. shards]);
        Assert.Equal(1, r.Code);
        Assert.Contains("do not hold every input exactly once (2 problem(s))", r.Err);
        Assert.Contains($"duplicated: {list0[0].Split('\t')[1]} (shards 0 and 1)", r.Err);
        Assert.Contains($"missing: input {list1[0].Split('\t')[0]} of the full list is in no shard", r.Err);
        Assert.False(Directory.Exists(merged));
    }

    [Theory]
    [InlineData("0/0", "at least 1")]
    [InlineData("3/3", "0..2")]
    [InlineData("auto", "SLURM_ARRAY_TASK_ID")]
    public void BadShardOptionsAreUsageErrors(string shard, string why)
    {
        using var temp = new TempDirectory("shard");
        var inputs = Images(temp.Path, 2);
        if (shard == "auto" && (Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") ?? Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX")) is not null)
        {
            shard = "x/3"; // inside an array job 'auto' would work: test another refusal
            why = "not a whole number";
        }
        var output = Path.Combine(temp.Path, "out");
        var r = Cli(Infer(output, inputs, "--shard", shard));
        Assert.Equal(ExitCodes.Usage, r.Code);
        Assert.Contains($"--shard: ", r.Err);
        Assert.Contains(why, r.Err);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void EvalShardedThreeWaysAndMergedEqualsASingleEval()
    {
        using var temp = new TempDirectory("shard-eval");
        var data = Path.Combine(temp.Path, "data");
        Ok(Cli(["synth", "-o", data, "--seed", "3", "--image-size", "64", "--classes", "stripes,washer"]));
        string[] Eval(string output, params string[] more) =>
        [
            "eval", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--dataset", "mvtec", "--data", data, "--image-size", "56", "--batch-size", "3", "-o", output, .. more,
        ];
        var single = Path.Combine(temp.Path, "single");
        Ok(Cli(Eval(single)));
        var shards = Enumerable.Range(0, 3).Select(i => Path.Combine(temp.Path, $"shard{i}")).ToArray();
        for (var i = 0; i < 3; i++)
        {
            Ok(Cli(Eval(shards[i], "--shard", $"{i}/3")));
        }
        var merged = Path.Combine(temp.Path, "merged");
        var r = Cli(["merge", "--eval", "-o", merged, .. shards]);
        Ok(r);
        Assert.Contains("| **mean** |", r.Out);

        // Every metric of every class and of the mean within 1e-9 (AUPRO included): the merge sees the very maps and scores.
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(single, "metrics.json")));
        using var actual = JsonDocument.Parse(File.ReadAllText(Path.Combine(merged, "metrics.json")));
        var compared = 0;
        foreach (var section in new[] { "classes", "mean" })
        {
            var e = expected.RootElement.GetProperty(section);
            var a = actual.RootElement.GetProperty(section);
            foreach (var (ev, av) in Flatten(e).Zip(Flatten(a)))
            {
                Assert.Equal(ev.Path, av.Path);
                Assert.True(Math.Abs(ev.Value - av.Value) <= 1e-9, $"{ev.Path}: {ev.Value} vs {av.Value}");
                compared++;
            }
            Assert.Equal(Flatten(e).Count(), Flatten(a).Count());
        }
        Assert.True(compared > 20, $"{compared} metrics compared");
        Assert.Contains("aupro", expected.RootElement.GetRawText());

        // The merged folder gets the single run's report: the same wrongly scored images, the same thumbnails.
        Assert.True(File.Exists(Path.Combine(merged, "report.html")));
        Assert.Equal(ReportThumbnails(single), ReportThumbnails(merged));
        Assert.NotEmpty(ReportThumbnails(merged));
        var page = File.ReadAllText(Path.Combine(merged, "report.html"));
        Assert.Equal(System.Text.RegularExpressions.Regex.Count(File.ReadAllText(Path.Combine(single, "report.html")), "figure class=\"worst"),
            System.Text.RegularExpressions.Regex.Count(page, "figure class=\"worst"));
        Assert.Contains("merged from", page);
        Assert.False(File.Exists(Path.Combine(shards[0], "report.html"))); // a shard writes none
        Assert.Equal(File.ReadAllText(Path.Combine(single, "results.json")), File.ReadAllText(Path.Combine(merged, "results.json")));
        Assert.Equal(File.ReadAllText(Path.Combine(single, "metrics.md")), File.ReadAllText(Path.Combine(merged, "metrics.md")));

        var missing = Cli(["merge", "--eval", "-o", Path.Combine(temp.Path, "short"), .. shards.Take(2)]);
        Assert.Equal(1, missing.Code);
        Assert.Contains("shard 2 of 3 missing", missing.Err);
    }

    private static IEnumerable<(string Path, double Value)> Flatten(JsonElement element, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    foreach (var x in Flatten(p.Value, path + "/" + p.Name))
                    {
                        yield return x;
                    }
                }
                break;
            case JsonValueKind.Number:
                yield return (path, element.GetDouble());
                break;
        }
    }

    // report_files/ of an eval report: each thumbnail's relative path and bytes, in path order.
    private static List<(string Path, string Sha)> ReportThumbnails(string folder)
    {
        var files = Path.Combine(folder, "report_files");
        return !Directory.Exists(files) ? [] : [.. Directory.GetFiles(files, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(folder, f), Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))))];
    }
}
