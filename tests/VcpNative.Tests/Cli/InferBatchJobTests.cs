// End-to-end tests of `infer` as a batch job: journal, resume after SIGINT and SIGKILL, refusals, bad inputs, disk full.
using System.Diagnostics;
using System.Text.Json;
using VcpNative.Anomaly.Visualization;
using VcpNative.Cli;
using VcpNative.IO.Images;
using VcpNative.IO.Results;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Cli;

public class InferBatchJobTests(ITestOutputHelper log)
{
    private static string[] Args(string output, params string[] more) =>
    [
        "infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
        "--image-size", "112", "--threshold", "0.5", "--batch-size", "2", "--save-maps", "-o", output, .. more,
    ];

    internal static string Images(string dir, int count)
    {
        var inputs = Path.Combine(dir, "in");
        Directory.CreateDirectory(inputs);
        for (var i = 0; i < count; i++)
        {
            var rng = new Random(i);
            var img = new RgbImage(48 + i % 5, 40);
            rng.NextBytes(img.Pixels);
            PngEncoder.Write(Path.Combine(inputs, $"img{i:D3}.png"), img);
        }
        return inputs;
    }

    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRun.Run(args);

    /// <summary>
    /// results.json, results.csv, every written map/overlay/mask and the report's thumbnails and data chunks, byte for
    /// byte (no timing fields exist in them); report.html only exists in both (its settings block says when it was written).
    /// </summary>
    private static void AssertSameOutputs(string expected, string actual)
    {
        Assert.Equal(File.ReadAllText(Path.Combine(expected, "results.json")), File.ReadAllText(Path.Combine(actual, "results.json")));
        Assert.Equal(File.ReadAllText(Path.Combine(expected, "results.csv")), File.ReadAllText(Path.Combine(actual, "results.csv")));
        Assert.True(File.Exists(Path.Combine(actual, "report.html")));
        var files = Directory.EnumerateFiles(expected, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(expected, f))
            .Where(f => f is not ResultsJournal.FileName and not "report.html").Order().ToList();
        Assert.Equal(files, Directory.EnumerateFiles(actual, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(actual, f))
            .Where(f => f is not ResultsJournal.FileName and not "report.html").Order());
        foreach (var f in files)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(expected, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, f))), $"{f} differs");
        }
        // The resumed journal holds each input once more at most than it needs: every input has a line.
        var inputs = ResultsJournal.Read(actual).Select(e => e.Input).ToHashSet();
        Assert.Equal(ResultsJournal.Read(expected).Select(e => e.Input).ToHashSet(), inputs);
    }

    [Fact]
    public void TwoBatchesInFlightWriteTheSameOutputsAsOne()
    {
        // 7 images in batches of 2 on two 1-thread pipelines: 4 batches (the last one short), reported in input order.
        using var temp = new TempDirectory("infer-inflight");
        var inputs = Images(temp.Path, 7);
        // A broken file between batches: its failure lands in the journal where one batch at a time puts it.
        File.WriteAllBytes(Path.Combine(inputs, "img003b.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var one = Path.Combine(temp.Path, "one");
        var two = Path.Combine(temp.Path, "two");
        var first = Cli([.. Args(one, inputs), "--threads", "2"]);
        Assert.True(first.Code == ExitCodes.PartialFailure, first.Err);
        var second = Cli([.. Args(two, inputs), "--threads", "2", "--in-flight", "2"]);
        Assert.True(second.Code == ExitCodes.PartialFailure, second.Err);
        AssertSameOutputs(one, two);
        Assert.Equal(ResultsJournal.Read(one).Select(e => e.Input), ResultsJournal.Read(two).Select(e => e.Input));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3")]
    public void InFlightOutsideOneToTheThreadCountIsRefused(string inFlight)
    {
        using var temp = new TempDirectory("infer-inflight-bad");
        var inputs = Images(temp.Path, 1);
        var refused = Cli([.. Args(Path.Combine(temp.Path, "out"), inputs), "--threads", "2", "--in-flight", inFlight]);
        Assert.Equal(ExitCodes.Usage, refused.Code);
        Assert.Contains("--in-flight", refused.Err);
        Assert.Contains($"{inFlight} batches in flight: between 1 and the 2 CPU threads", refused.Err);
    }

    [Fact]
    public void NonEmptyOutputIsRefusedUnlessResumeOrOverwrite()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Images(temp.Path, 3);
        var output = Path.Combine(temp.Path, "out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "results.json"), "[]");
        var refused = Cli(Args(output, inputs));
        Assert.Equal(ExitCodes.Usage, refused.Code);
        Assert.Contains("--output", refused.Err);
        Assert.Contains("not empty", refused.Err);
        Assert.Equal("[]", File.ReadAllText(Path.Combine(output, "results.json")));

        Assert.Equal(ExitCodes.Usage, Cli(Args(output, inputs, "--resume", "--overwrite")).Code);
        Assert.Equal(ExitCodes.Ok, Cli(Args(output, inputs, "--overwrite")).Code);
        Assert.Equal(3, ResultsWriter.ReadJson(Path.Combine(output, "results.json")).Count);
        var again = Cli(Args(output, inputs, "--resume"));
        Assert.Equal(ExitCodes.Ok, again.Code);
        Assert.Contains("3 input(s) finished by the earlier run were skipped", again.Out);
    }

    [Fact]
    public void MissingInputsAndZeroImagesAreUsageErrorsBeforeTheModelLoads()
    {
        using var temp = new TempDirectory("infer-job");
        var empty = Path.Combine(temp.Path, "empty");
        Directory.CreateDirectory(empty);
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "not an image");
        // A head that is not a head: if the model were loaded first, the error would be about it.
        string[] Bad(string output, string input) => ["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Path.Combine(empty, "notes.txt"), "-o", output, input];
        var none = Cli(Bad(Path.Combine(temp.Path, "o1"), empty));
        Assert.Equal(ExitCodes.Usage, none.Code);
        Assert.Contains("no image files", none.Err);
        var missing = Cli(Bad(Path.Combine(temp.Path, "o2"), Path.Combine(temp.Path, "nope")));
        Assert.Equal(ExitCodes.Usage, missing.Code);
        Assert.Contains("nope: no such file or folder", missing.Err);
    }

    [Fact]
    public void OutputsInsideAnInputFolderAreNeverReadBackAndOtherFilesAreListedAsSkipped()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Images(temp.Path, 3);
        File.WriteAllText(Path.Combine(inputs, "readme.txt"), "x");
        var output = Path.Combine(inputs, "out");
        var first = Cli(Args(output, inputs));
        Assert.Equal(ExitCodes.Ok, first.Code);
        Assert.Contains("skipped 1 file(s)", first.Err);
        Assert.Contains("readme.txt", first.Err);
        // The second run sees out/overlays/*.png, out/masks/*.png, out/results.*: none of them is an input.
        var second = Cli(Args(output, inputs, "--overwrite"));
        Assert.Equal(ExitCodes.Ok, second.Code);
        Assert.DoesNotContain("results", second.Err);
        Assert.Equal(3, ResultsWriter.ReadJson(Path.Combine(output, "results.json")).Count);
    }

    [Fact]
    public void MalformedBmpAmongGoodImagesIsOneFailedRecordAndTheRunFinishesWithExit3()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Images(temp.Path, 3);
        var rng = new Random(7);
        var img = new RgbImage(20, 10);
        rng.NextBytes(img.Pixels);
        var bad = Path.Combine(inputs, "bad.bmp");
        BmpEncoder.Write(bad, img);
        var bytes = File.ReadAllBytes(bad);
        bytes[11] = 0x7F; // the pixel-data offset: now past the end of the file
        File.WriteAllBytes(bad, bytes);
        var output = Path.Combine(temp.Path, "out");
        var run = Cli(Args(output, inputs, "--files-from", WriteList(temp.Path, [])));
        Assert.Equal(ExitCodes.PartialFailure, run.Code);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        var records = ResultsJson.Records(json).EnumerateArray().ToList();
        Assert.Equal(4, records.Count);
        var failed = Assert.Single(records, r => r.GetProperty("score").ValueKind == JsonValueKind.Null);
        Assert.Equal(bad, failed.GetProperty("input").GetString());
        Assert.Contains("bad.bmp", failed.GetProperty("error").GetString());
        Assert.Contains("bad.bmp,,,,,,", File.ReadAllText(Path.Combine(output, "results.csv")));
        // Each error line names the file once, although the decoder's message names it too.
        var lines = run.Err.Split('\n').Where(l => l.Contains("bad.bmp", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Single(System.Text.RegularExpressions.Regex.Matches(l, System.Text.RegularExpressions.Regex.Escape(bad))));
    }

    [Fact]
    public void ImageSizeDefaultsToTheSizeTheHeadWasTrainedAtWhenItsFileRecordsIt()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Images(temp.Path, 1);
        var head = Path.Combine(temp.Path, "trained.safetensors");
        HeadFiles.Rewrite(Fixtures.Path("vcp", "vcp_head.pth"), head, new Dictionary<string, string> { ["method"] = "vcp", ["train.image_size"] = "224" });
        string[] Run(string output, params string[] more) =>
            ["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", head, "-o", output, .. more, inputs];
        var trained = Cli(Run(Path.Combine(temp.Path, "a")));
        Assert.Equal(ExitCodes.Ok, trained.Code);
        Assert.Contains("--image-size 224, the size", trained.Out);
        Assert.Equal(224, ImageSizeOf(Path.Combine(temp.Path, "a")));
        // An explicit --image-size wins, with a warning that it is not the trained size.
        var other = Cli(Run(Path.Combine(temp.Path, "b"), "--image-size", "112"));
        Assert.Equal(ExitCodes.Ok, other.Code);
        Assert.Equal(112, ImageSizeOf(Path.Combine(temp.Path, "b")));
        Assert.Contains("warning: --image-size 112 overrides 224", other.Err);
        // Not a multiple of the patch size (14): a usage error naming the option, before the model loads.
        var odd = Cli(Run(Path.Combine(temp.Path, "c"), "--image-size", "100"));
        Assert.Equal(ExitCodes.Usage, odd.Code);
        Assert.Contains("--image-size: 100 px is not a multiple of the CLIP patch size 14 (nearest: 98)", odd.Err);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "c")));
    }

    private static int ImageSizeOf(string output)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        return json.RootElement.GetProperty("image_size").GetInt32();
    }

    [Fact]
    public void OverlaysMasksAndOptionallyMapsAreAtTheImagesOwnSize()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Path.Combine(temp.Path, "in");
        Directory.CreateDirectory(inputs);
        var wide = new RgbImage(90, 30);
        for (var i = 0; i < wide.Pixels.Length; i++)
        {
            wide.Pixels[i] = (byte)(i * 7 % 251);
        }
        File.WriteAllBytes(Path.Combine(inputs, "wide.png"), PngEncoder.Encode(wide));
        string[] Run(string output, params string[] more) =>
            ["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"), "--image-size", "112",
             "--threshold", "0.5", "--save-maps", "-o", output, .. more, inputs];
        var model = Path.Combine(temp.Path, "model");
        Assert.Equal(ExitCodes.Ok, Cli(Run(model)).Code);
        var overlay = ImageDecoder.DecodeRgb(Path.Combine(model, "overlays", "wide.png"));
        Assert.Equal((90, 30), (overlay.Width, overlay.Height));
        var mask = ImageDecoder.DecodeGrey(Path.Combine(model, "masks", "wide.png"));
        Assert.Equal((90, 30), (mask.Width, mask.Height));
        var record = Assert.Single(ResultsWriter.ReadJson(Path.Combine(model, "results.json")));
        Assert.Equal((90, 30), (record.Width, record.Height));
        var modelMap = NpyShape(Path.Combine(model, "maps", "wide.npy"));
        Assert.Equal("(112, 112)", modelMap);
        // The overlay is the decoded image under the map resized to it: the library's own resize of the model map.
        var map = NpyValues(Path.Combine(model, "maps", "wide.npy"));
        var expected = HeatmapOverlay.Render(wide, MapResize.ToSize(map, 112, 90, 30));
        Assert.Equal(expected.Pixels, overlay.Pixels);

        var original = Path.Combine(temp.Path, "original");
        Assert.Equal(ExitCodes.Ok, Cli(Run(original, "--maps-at", "original")).Code);
        Assert.Equal("(30, 90)", NpyShape(Path.Combine(original, "maps", "wide.npy")));
        Assert.Equal(MapResize.ToSize(map, 112, 90, 30), NpyValues(Path.Combine(original, "maps", "wide.npy")));
    }

    [Fact]
    public void AnExifRotatedJpegGetsAnUprightOverlay()
    {
        // Orientation 6 (rotate 90 degrees clockwise to view): the stored pixels are landscape-on-their-side; the overlay
        // must have the upright size and be drawn over the upright image, as Pillow's exif_transpose shows it.
        using var temp = new TempDirectory("infer-job");
        var inputs = Path.Combine(temp.Path, "in");
        Directory.CreateDirectory(inputs);
        var jpeg = Path.Combine(inputs, "turned.jpg");
        File.Copy(Fixtures.Path("images", "formats", "jpeg_exif_orientation6.jpg"), jpeg);
        var upright = ImageDecoder.DecodeRgb(jpeg);
        var header = ImageDecoder.ReadHeader(jpeg);
        Assert.Equal((upright.Width, upright.Height), (header.Width, header.Height));
        Assert.NotEqual(upright.Width, upright.Height); // a square would not show a wrong turn
        var output = Path.Combine(temp.Path, "out");
        Assert.Equal(ExitCodes.Ok, Cli(["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--image-size", "112", "--save-maps", "-o", output, inputs]).Code);
        var overlay = ImageDecoder.DecodeRgb(Path.Combine(output, "overlays", "turned.png"));
        Assert.Equal((upright.Width, upright.Height), (overlay.Width, overlay.Height));
        var map = NpyValues(Path.Combine(output, "maps", "turned.npy"));
        Assert.Equal(HeatmapOverlay.Render(upright, MapResize.ToSize(map, 112, upright.Width, upright.Height)).Pixels, overlay.Pixels);
    }

    private static string NpyShape(string path)
    {
        var header = System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(path), 10, 118);
        var start = header.IndexOf("'shape': ", StringComparison.Ordinal) + 9;
        return header[start..(header.IndexOf(')', start) + 1)];
    }

    private static float[] NpyValues(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var header = 10 + BitConverter.ToUInt16(bytes, 8);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(header)).ToArray();
    }

    [Fact]
    public void ThresholdFileRecordsMethodSizeAndWeightsAndIsRefusedWithOthers()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Images(temp.Path, 2);
        var clip = Fixtures.Path("clip", "tiny_clip.pt");
        var head = Fixtures.Path("vcp", "vcp_head.pth");
        var cal = Path.Combine(temp.Path, "cal");
        Assert.Equal(ExitCodes.Ok, Cli("calibrate", "--clip", clip, "--head", head, "--image-size", "112", "-o", cal, inputs).Code);
        var thresholdFile = Path.Combine(cal, "threshold.json");
        var recorded = ThresholdFile.Load(thresholdFile);
        Assert.Equal(("vcp", 112, ModelFingerprint.Of(clip, head)), (recorded.Method, recorded.ImageSize, recorded.Fingerprint));

        string[] Infer(string output, string headFile, string size) => ["infer", "--clip", clip, "--head", headFile, "--image-size", size, "--threshold", thresholdFile, "-o", output, inputs];
        Assert.Equal(ExitCodes.Ok, Cli(Infer(Path.Combine(temp.Path, "ok"), head, "112")).Code);
        var otherSize = Cli(Infer(Path.Combine(temp.Path, "size"), head, "56"));
        Assert.Equal(ExitCodes.Usage, otherSize.Code);
        Assert.Contains("--threshold: the threshold file does not fit: it was calibrated at image size 112, not 56", otherSize.Err);
        var otherHead = Path.Combine(temp.Path, "other.safetensors");
        HeadFiles.Rewrite(head, otherHead, new Dictionary<string, string> { ["method"] = "vcp" });
        var otherWeights = Cli(Infer(Path.Combine(temp.Path, "head"), otherHead, "112"));
        Assert.Equal(ExitCodes.Usage, otherWeights.Code);
        Assert.Contains("calibrated with other CLIP/head files", otherWeights.Err);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "head")), "refused before any output was written");
    }

    [Fact]
    public void FilesFromReadsOnePathPerLine()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Images(temp.Path, 4);
        var list = WriteList(temp.Path, [Path.Combine(inputs, "img001.png"), "", Path.Combine(inputs, "img003.png")]);
        var output = Path.Combine(temp.Path, "out");
        Assert.Equal(ExitCodes.Ok, Cli(Args(output, "--files-from", list)).Code);
        Assert.Equal(["img001.png", "img003.png"], ResultsWriter.ReadJson(Path.Combine(output, "results.json")).Select(r => Path.GetFileName(r.Input)));

        // "-" reads the list from standard input (no other test reads it, so swapping Console.In is safe here).
        var stdin = Console.In;
        Console.SetIn(new StringReader(Path.Combine(inputs, "img002.png") + "\n"));
        try
        {
            Assert.Equal(ExitCodes.Ok, Cli(Args(Path.Combine(temp.Path, "out2"), "--files-from", "-")).Code);
        }
        finally
        {
            Console.SetIn(stdin);
        }
        Assert.Equal("img002.png", Path.GetFileName(Assert.Single(ResultsWriter.ReadJson(Path.Combine(temp.Path, "out2", "results.json"))).Input));
    }

    private static string WriteList(string dir, string[] lines)
    {
        var path = Path.Combine(dir, "list.txt");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public void SignalledRunResumedEqualsAnUninterruptedRun(string signal)
    {
        if (!OperatingSystem.IsLinux())
        {
            log.WriteLine("skipped: needs POSIX signals");
            return;
        }
        using var temp = new TempDirectory("infer-job");
        // 120 inputs: the job must still be running when the signal lands after the 4th journal line; with 40, a test
        // thread descheduled for half a second on a loaded machine let the job finish first (exit 0, not 130).
        const int count = 120;
        var inputs = Images(temp.Path, count);
        var whole = Path.Combine(temp.Path, "whole");
        Assert.Equal(ExitCodes.Ok, Cli(Args(whole, inputs)).Code);

        var stopped = Path.Combine(temp.Path, "stopped");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vcp-native.dll"));
        foreach (var arg in Args(stopped, inputs))
        {
            start.ArgumentList.Add(arg);
        }
        var stderr = new System.Text.StringBuilder();
        using (var child = Process.Start(start)!)
        {
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var journal = Path.Combine(stopped, ResultsJournal.FileName);
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!child.HasExited && DateTime.UtcNow < deadline && GrowingFile.LineCount(journal) < 4)
            {
                Thread.Sleep(10);
            }
            Assert.False(child.HasExited, "the run finished before it could be stopped");
            using (var kill = Process.Start("kill", ["-" + signal, child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }
            Assert.True(child.WaitForExit(120_000), "the run did not stop");
            child.WaitForExit();
            if (signal != "KILL")
            {
                Assert.Equal(signal == "INT" ? ExitCodes.Interrupted : ExitCodes.Terminated, child.ExitCode);
                Assert.Contains("--resume", stderr.ToString());
                // Stopped in good order: results.json holds what finished, and not everything did.
                var partial = ResultsWriter.ReadJson(Path.Combine(stopped, "results.json")).Count;
                log.WriteLine($"SIG{signal} after {partial} of {count} inputs");
                Assert.InRange(partial, 4, count - 1);
            }
        }
        var resumed = Cli(Args(stopped, inputs, "--resume"));
        Assert.Equal(ExitCodes.Ok, resumed.Code);
        Assert.Contains("finished by the earlier run were skipped", resumed.Out);
        AssertSameOutputs(whole, stopped);
    }

    [Fact]
    public void FullDiskStopsWithOneLineKeepsTheJournalAndResumeFinishesAfterSpaceIsFreed()
    {
        using var temp = new TempDirectory("infer-job");
        var inputs = Images(temp.Path, 24);
        var whole = Path.Combine(temp.Path, "whole");
        Assert.Equal(ExitCodes.Ok, Cli(Args(whole, inputs)).Code);

        var mount = Path.Combine(temp.Path, "small");
        Directory.CreateDirectory(mount);
        if (!Run("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mount))
        {
            log.WriteLine($"skipped: cannot mount a tmpfs at {mount} (needs root / CAP_SYS_ADMIN); the disk-full path is not exercised");
            return;
        }
        try
        {
            // Each input writes ~50 KB of map plus two PNGs: 512 KB fills after a few batches.
            var output = Path.Combine(mount, "out");
            var full = Cli(Args(output, inputs));
            Assert.Equal(ExitCodes.Failure, full.Code);
            var line = Assert.Single(full.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("no space left", StringComparison.Ordinal));
            Assert.Matches(@"\(\d+ bytes needed\)", line);
            Assert.Contains("--resume", line);
            var journaled = ResultsJournal.Read(output);
            log.WriteLine($"disk full after {journaled.Count} journaled inputs: {line}");
            Assert.InRange(journaled.Count, 1, 23);
            Assert.Empty(Directory.EnumerateFiles(output, "*.tmp", SearchOption.AllDirectories));

            Assert.True(Run("mount", "-o", "remount,size=64m", mount), "remount failed");
            var resumed = Cli(Args(output, inputs, "--resume"));
            Assert.Equal(ExitCodes.Ok, resumed.Code);
            AssertSameOutputs(whole, output);
        }
        finally
        {
            Run("umount", mount);
        }
    }

    private static bool Run(string file, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
