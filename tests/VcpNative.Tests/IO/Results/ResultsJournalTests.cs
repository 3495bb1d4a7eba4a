// results.jsonl round trip, torn last lines, and results.json from journal entries in the format results.json always had.
using System.Text.Json;
using VcpNative.IO.Results;
using Xunit;

namespace VcpNative.Tests.IO.Results;

public class ResultsJournalTests
{
    private static readonly DateTime When = new(2026, 12, 4, 10, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void EntriesRoundTripAndATornLastLineIsDroppedOnReadAndOnAppend()
    {
        using var temp = new TempDirectory("journal");
        var ok = new JournalEntry("in/a.png", 123, When.AddTicks(7), new ImageResultRecord("in/a.png", 0.25, true, null, "overlays/a.png", "masks/a.png"), null);
        var bad = new JournalEntry("in/b,\"x\".png", 5, When, null, "in/b.png: at byte 3: expected x, found y");
        using (var journal = new ResultsJournal(temp.Path))
        {
            journal.Add(ok);
            journal.Add(bad);
            journal.Flush();
        }
        Assert.Equal([ok, bad], ResultsJournal.Read(temp.Path));
        var path = Path.Combine(temp.Path, ResultsJournal.FileName);
        File.AppendAllText(path, "{\"input\":\"in/c.png\",\"si"); // a process killed mid-write
        Assert.Equal([ok, bad], ResultsJournal.Read(temp.Path));
        using (var journal = new ResultsJournal(temp.Path))
        {
            journal.Add(ok with { Size = 9 });
            journal.Flush();
        }
        Assert.Equal([ok, bad, ok with { Size = 9 }], ResultsJournal.Read(temp.Path));
    }

    [Fact]
    public void ResultsFromEntriesKeepTheSuccessFormatAndWriteFailuresWithNullScoreAndError()
    {
        using var temp = new TempDirectory("journal");
        var records = new List<ImageResultRecord>
        {
            new("in/a.png", 0.125, null, "maps/a.npy", "overlays/a.png", null),
            new("in/c.png", 1e-7, false, null, "overlays/c.png", "masks/c.png"),
        };
        ResultsWriter.Write(temp.Path, records);
        var plain = File.ReadAllText(Path.Combine(temp.Path, "results.json"));
        ResultsWriter.Write(temp.Path, records.Select(r => new JournalEntry(r.Input, 1, When, r, null)).ToList());
        Assert.Equal(plain, File.ReadAllText(Path.Combine(temp.Path, "results.json")));

        ResultsWriter.Write(temp.Path, [new JournalEntry("in/a.png", 1, When, records[0], null), new JournalEntry("in/b.png", 1, When, null, "broken")]);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(temp.Path, "results.json")));
        var failed = json.RootElement[1];
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("score").ValueKind);
        Assert.Equal("broken", failed.GetProperty("error").GetString());
        Assert.Equal(
            ["input,score,anomalous,map,overlay,mask,width,height,error", "in/a.png,0.125,,maps/a.npy,overlays/a.png,,,,", "in/b.png,,,,,,,,broken"],
            File.ReadAllLines(Path.Combine(temp.Path, "results.csv")));
    }

    [Fact]
    public void ABatchJobsResultsJsonHasTheHeaderFieldsAndTheRecordsWithTheirOriginalSize()
    {
        using var temp = new TempDirectory("results-header");
        var record = new ImageResultRecord("in/a.png", 0.75, true, null, "overlays/a.png", "masks/a.png", 640, 480);
        ResultsWriter.Write(temp.Path, [new JournalEntry("in/a.png", 1, When, record, null)], new ResultsHeader("vcp", 518, 0.5, "what it means", 2.0));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(temp.Path, "results.json")));
        var root = json.RootElement;
        Assert.Equal("vcp", root.GetProperty("method").GetString());
        Assert.Equal(518, root.GetProperty("image_size").GetInt32());
        Assert.Equal(0.5, root.GetProperty("threshold").GetDouble());
        Assert.Equal("what it means", root.GetProperty("score_meaning").GetString());
        Assert.Equal([0.0, 2.0], root.GetProperty("score_range").EnumerateArray().Select(v => v.GetDouble()));
        var only = Assert.Single(root.GetProperty("results").EnumerateArray());
        Assert.Equal(640, only.GetProperty("width").GetInt32());
        Assert.Equal(480, only.GetProperty("height").GetInt32());
        Assert.Equal(record, Assert.Single(ResultsWriter.ReadJson(Path.Combine(temp.Path, "results.json"))));
        Assert.Equal("in/a.png,0.75,true,,overlays/a.png,masks/a.png,640,480,", File.ReadAllLines(Path.Combine(temp.Path, "results.csv"))[1]);
        // The journal keeps the size too, so a resumed run writes the same files.
        using (var journal = new ResultsJournal(temp.Path))
        {
            journal.Add(new JournalEntry("in/a.png", 1, When, record, null));
            journal.Flush();
        }
        Assert.Equal(record, Assert.Single(ResultsJournal.Read(temp.Path)).Result);
    }
}
