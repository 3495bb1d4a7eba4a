// End-to-end test of `vcp-native infer` on generated images: every output file, bad inputs, duplicate stems.
using System.Text.Json;
using VcpNative.Cli;
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.Cli;

public class InferCommandTests
{
    private static RgbImage Pattern(int w, int h, int seed)
    {
        var rng = new System.Random(seed);
        var img = new RgbImage(w, h);
        for (var i = 0; i < img.Pixels.Length; i++)
        {
            img.Pixels[i] = (byte)rng.Next(256);
        }
        return img;
    }

    [Fact]
    public void InferWritesEveryOutputSkipsBadFilesAndKeepsDuplicateStemsApart()
    {
        using var temp = new TempDirectory("infer");
        var dir = temp.Path;
        var inputs = Path.Combine(dir, "in");
        Directory.CreateDirectory(Path.Combine(inputs, "a"));
        Directory.CreateDirectory(Path.Combine(inputs, "b"));
        PngEncoder.Write(Path.Combine(inputs, "a", "part.png"), Pattern(60, 40, 1));
        PngEncoder.Write(Path.Combine(inputs, "b", "part.png"), Pattern(33, 70, 2));
        BmpEncoder.Write(Path.Combine(inputs, "b", "other.bmp"), Pattern(50, 50, 3));
        File.WriteAllBytes(Path.Combine(inputs, "b", "broken.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        File.WriteAllBytes(Path.Combine(inputs, "b", "empty.jpg"), []);
        var output = Path.Combine(dir, "out");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(
        [
            "infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--image-size", "112", "--threshold", "0.5", "--batch-size", "2", "--save-maps", "-o", output, inputs,
        ], stdout, stderr);

        Assert.Equal(ExitCodes.PartialFailure, code);
        var err = stderr.ToString();
        Assert.Contains("broken.png", err);
        Assert.Contains("empty.jpg", err);
        Assert.Contains("2 input(s) failed", err);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        // One record per input: the two bad files are records with "score": null and their one-line error.
        var all = ResultsJson.Records(json).EnumerateArray().ToList();
        Assert.Equal(5, all.Count);
        var failed = all.Where(r => r.GetProperty("score").ValueKind == JsonValueKind.Null).ToList();
        Assert.Equal(["broken.png", "empty.jpg"], failed.Select(r => Path.GetFileName(r.GetProperty("input").GetString())).Order());
        Assert.All(failed, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("error").GetString())));
        var records = all.Except(failed).ToList();
        Assert.Equal(3, records.Count);
        var overlays = new HashSet<string>();
        foreach (var r in records)
        {
            Assert.True(File.Exists(r.GetProperty("input").GetString()));
            var score = r.GetProperty("score").GetDouble();
            Assert.InRange(score, 0.0, 2.0);
            Assert.Equal(score > 0.5, r.GetProperty("anomalous").GetBoolean());
            var overlay = Path.Combine(output, r.GetProperty("overlay").GetString()!);
            Assert.True(overlays.Add(overlay), "two inputs wrote the same overlay");
            var decoded = ImageDecoder.DecodeRgb(overlay);
            // Overlays at the image's own size (recorded in the result); maps at the model's.
            Assert.Equal((r.GetProperty("width").GetInt32(), r.GetProperty("height").GetInt32()), (decoded.Width, decoded.Height));
            var source = ImageDecoder.DecodeRgb(r.GetProperty("input").GetString()!);
            Assert.Equal((source.Width, source.Height), (decoded.Width, decoded.Height));
            var mask = ImageDecoder.DecodeGrey(Path.Combine(output, r.GetProperty("mask").GetString()!));
            Assert.All(mask.Pixels, p => Assert.True(p is 0 or 255));
            var npy = File.ReadAllBytes(Path.Combine(output, r.GetProperty("map").GetString()!));
            Assert.Contains("(112, 112)", System.Text.Encoding.ASCII.GetString(npy, 0, 128));
            Assert.Equal(128 + 112 * 112 * 4, npy.Length);
        }
        var csv = File.ReadAllLines(Path.Combine(output, "results.csv"));
        Assert.Equal("input,score,anomalous,map,overlay,mask,width,height,error", csv[0]);
        Assert.Equal(6, csv.Length);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(output, "results.jsonl")).Length);
        Assert.Contains("part_2", File.ReadAllText(Path.Combine(output, "results.csv")));
    }

    [Fact]
    public void HeadThatDoesNotFitTheClipIsRefusedBeforeReadingImages()
    {
        using var temp = new TempDirectory("infer");
        var dir = temp.Path;
        // A CLIP file used as a head: it lacks every VCP tensor (--method vcp: without it, detection refuses the file).
        // The "image" is not one: if it were read before the model, the error would be about it.
        File.WriteAllText(Path.Combine(dir, "x.png"), "not a png");
        var stderr = new StringWriter();
        var code = CliApp.Run(["infer", "--method", "vcp", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("clip", "tiny_clip.pt"), "-o", Path.Combine(dir, "o"), dir],
            new StringWriter(), stderr);
        Assert.Equal(ExitCodes.Failure, code);
        var line = Assert.Single(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("tiny_clip.pt", line);
        Assert.Contains("New_Lan_Embed.prompt_query", line);
    }
}

public class HeadWidthMismatchTests
{
    [Fact]
    public void HeadOfAnotherWidthIsRefusedNamingBothShapesBeforeAnyImageIsRead()
    {
        using var temp = new TempDirectory("infer-width");
        // The fixture heads with prompt_query of width 32 instead of the CLIP's embed width 64.
        var bad = Path.Combine(temp.Path, "bad.safetensors");
        HeadFiles.Rewrite(Fixtures.Path("vcp", "vcp_head.pth"), bad, new Dictionary<string, string> { ["method"] = "vcp" },
            (name, shape, values) => name == "New_Lan_Embed.prompt_query" ? ([1, 2, 32], values[..64]) : (shape, values));
        // The "image" is not an image at all: if it were read, the error would be about it.
        var notAnImage = Path.Combine(temp.Path, "x.png");
        File.WriteAllText(notAnImage, "not a png");
        var stderr = new StringWriter();
        var code = CliApp.Run(["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", bad, "-o", Path.Combine(temp.Path, "o"), notAnImage], new StringWriter(), stderr);
        Assert.Equal(ExitCodes.Failure, code);
        var line = Assert.Single(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("New_Lan_Embed.prompt_query", line);
        Assert.Contains("[1,-1,64]", line);
        Assert.Contains("[1,2,32]", line);
        Assert.DoesNotContain("x.png", line);
    }
}
