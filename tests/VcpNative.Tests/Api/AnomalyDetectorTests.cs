// The public API against the CLI it wraps: same scores and maps as `infer`, typed errors, disposal, threads, cancellation.
using System.Text.Json;
using VcpNative.Cli;
using VcpNative.IO.Images;
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.Api;

public class AnomalyDetectorTests
{
    private const int Size = 28;
    private static readonly string Clip = Fixtures.Path("clip", "tiny_clip.pt");
    private static readonly string VcpHead = Fixtures.Path("vcp", "vcp_head.pth");
    private static readonly string Vip2Head = Fixtures.Path("vip2", "vip2_head.pth");

    internal static RgbImage Pattern(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var img = new RgbImage(w, h);
        rng.NextBytes(img.Pixels);
        return img;
    }

    /// <summary>Three PNGs of different sizes in a folder, in ordinal order.</summary>
    internal static string[] WriteImages(string folder)
    {
        Directory.CreateDirectory(folder);
        string[] paths = [Path.Combine(folder, "a.png"), Path.Combine(folder, "b.png"), Path.Combine(folder, "c.png")];
        PngEncoder.Write(paths[0], Pattern(60, 40, 1));
        PngEncoder.Write(paths[1], Pattern(33, 70, 2));
        PngEncoder.Write(paths[2], Pattern(50, 50, 3));
        return paths;
    }

    private static (float Score, float[] Map)[] Infer(string head, string output, int batchSize, params string[] inputs)
    {
        var stderr = new StringWriter();
        var code = CliApp.Run(["infer", "--clip", Clip, "--head", head, "--image-size", $"{Size}", "--batch-size", $"{batchSize}", "--save-maps", "-o", output, .. inputs],
            new StringWriter(), stderr);
        Assert.True(code == ExitCodes.Ok, stderr.ToString());
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        return ResultsJson.Records(json).EnumerateArray().Select(r =>
        {
            var npy = File.ReadAllBytes(Path.Combine(output, r.GetProperty("map").GetString()!));
            var map = new float[Size * Size];
            Buffer.BlockCopy(npy, npy.Length - map.Length * 4, map, 0, map.Length * 4);
            return ((float)r.GetProperty("score").GetDouble(), map);
        }).ToArray();
    }

    [Theory]
    [InlineData("vcp", 1)]
    [InlineData("vip2", 2)]
    public void ScoresAndMapsEqualInfersForFilesBytesAndDecodedImages(string method, int batchSize)
    {
        using var temp = new TempDirectory("api");
        var head = method == "vcp" ? VcpHead : Vip2Head;
        var paths = WriteImages(Path.Combine(temp.Path, "in"));
        var expected = Infer(head, Path.Combine(temp.Path, "out"), batchSize, paths);

        using var detector = AnomalyDetector.Open(Clip, head, new DetectorOptions { ImageSize = Size });
        Assert.Equal(method, detector.Method);
        Assert.Equal(Size, detector.ImageSize);
        var many = detector.DetectMany(paths, batchSize).ToList();
        Assert.Equal(paths, many.Select(r => r.Name));
        for (var i = 0; i < paths.Length; i++)
        {
            // Exact: the same code path on the same backend (infer's batches equal these batches).
            Assert.Equal(expected[i].Score, many[i].Score);
            Assert.Equal(expected[i].Map, many[i].Map.ToArray());
            Assert.Null(many[i].IsAnomalous);
        }
        // One image at a time through each entry point: a batch of one equals infer's batch of one only when
        // batchSize is 1; with 2, batched matmuls may sum in another order, so compare within fp32 rounding.
        var bytes = detector.Detect(File.ReadAllBytes(paths[1]));
        var decoded = detector.Detect(ImageDecoder.DecodeRgb(paths[1]));
        var file = detector.Detect(paths[1]);
        Assert.Equal(file.Score, bytes.Score);
        Assert.Equal(file.Score, decoded.Score);
        Assert.Equal(expected[1].Score, file.Score, 1e-5f);
        Assert.Equal((33, 70), (file.OriginalWidth, file.OriginalHeight));
    }

    [Fact]
    public void MapAtOriginalSizeAndMasksHaveTheImagesShape()
    {
        using var temp = new TempDirectory("api");
        using var detector = AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = Size, Threshold = -1, PixelThreshold = 0.2f });
        var result = detector.Detect(Pattern(45, 30, 9));
        Assert.True(result.IsAnomalous);
        Assert.Equal(Size * Size, result.Map.Length);
        var original = result.MapAtOriginalSize();
        Assert.Equal(45 * 30, original.Length);
        Assert.InRange(original.Max(), result.Map.ToArray().Min(), result.Map.ToArray().Max() + 1e-6f);
        var mask = result.Mask();
        Assert.Equal((Size, Size), (mask.Width, mask.Height));
        Assert.Equal(result.Map.ToArray().Count(v => v > 0.2f), mask.Pixels.Count(p => p == 255));
        Assert.Equal((45, 30), (result.MaskAtOriginalSize().Width, result.MaskAtOriginalSize().Height));
    }

    [Fact]
    public void CalibratorMatchesCalibrateAndItsThresholdFileDrivesTheVerdict()
    {
        using var temp = new TempDirectory("api");
        var paths = WriteImages(Path.Combine(temp.Path, "normal"));
        var cliOut = Path.Combine(temp.Path, "cli");
        Assert.Equal(0, CliApp.Run(["calibrate", "--clip", Clip, "--head", VcpHead, "--image-size", $"{Size}", "--percentile", "50", "-o", cliOut, Path.Combine(temp.Path, "normal")],
            new StringWriter(), new StringWriter()));
        var cli = VcpNative.IO.Results.ThresholdFile.Load(Path.Combine(cliOut, "threshold.json"));

        var apiOut = Path.Combine(temp.Path, "api");
        var result = Calibrator.Run(Clip, VcpHead, [Path.Combine(temp.Path, "normal"), Path.Combine(temp.Path, "missing")],
            new CalibrationOptions { Percentile = 50, OutputFolder = apiOut, Detector = new DetectorOptions { ImageSize = Size } });
        Assert.Equal(cli, result.Threshold);
        Assert.Equal(Path.Combine(apiOut, "threshold.json"), result.ThresholdPath);
        Assert.True(File.Exists(Path.Combine(apiOut, "results.json")));
        var failure = Assert.Single(result.Failures);
        Assert.Equal(Path.Combine(temp.Path, "missing"), failure.Input);

        using var detector = AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = Size, ThresholdFile = result.ThresholdPath });
        Assert.Equal(cli.Threshold, detector.Threshold);
        var verdicts = detector.DetectMany(paths, 3).Select(r => r.IsAnomalous).ToList();
        // The median of three scores plus 0.02: at most one of the three lies above it, and every verdict is set.
        Assert.All(verdicts, v => Assert.NotNull(v));
        Assert.InRange(verdicts.Count(v => v == true), 0, 1);
    }

    [Fact]
    public void ManyThreadsOnOneDetectorGetTheSequentialScores()
    {
        using var detector = AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = Size, Threads = 2 });
        var images = Enumerable.Range(0, 6).Select(i => Pattern(40 + i, 40, i)).ToArray();
        var sequential = images.Select(i => detector.Detect(i).Score).ToArray();
        var parallel = new float[images.Length];
        Parallel.For(0, images.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[i] = detector.Detect(images[i]).Score);
        Assert.Equal(sequential, parallel);
        // A DetectMany loop may call the same detector between batches (the lock is not held while yielding).
        foreach (var r in detector.DetectMany(images.Take(2), 1))
        {
            Assert.Equal(r.Score, detector.Detect(images[int.Parse(r.Name["image ".Length..])]).Score);
        }
    }

    [Fact]
    public async Task TwoDetectorsWithDifferentThreadCountsRunSideBySide()
    {
        // Each detector owns its runtime's thread pool: no process-wide setting for one to change under the other.
        using var one = AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = 56, Threads = 1 });
        using var two = AnomalyDetector.Open(Clip, Vip2Head, new DetectorOptions { ImageSize = 56, Threads = 2 });
        var images = Enumerable.Range(0, 4).Select(i => Pattern(50 + i, 45, 10 + i)).ToArray();
        var alone = (One: images.Select(i => one.Detect(i).Score).ToArray(), Two: images.Select(i => two.Detect(i).Score).ToArray());
        var a = Task.Run(() => Enumerable.Range(0, 3).SelectMany(_ => images.Select(i => one.Detect(i).Score)).ToArray());
        var b = Task.Run(() => Enumerable.Range(0, 3).SelectMany(_ => images.Select(i => two.Detect(i).Score)).ToArray());
        var both = await Task.WhenAll(a, b);
        Assert.Equal(Enumerable.Repeat(alone.One, 3).SelectMany(x => x), both[0]);
        Assert.Equal(Enumerable.Repeat(alone.Two, 3).SelectMany(x => x), both[1]);
        Assert.Equal(Environment.ProcessorCount, VcpNative.Tensors.CpuThreadPool.Current.Threads); // the test thread's pool is untouched
    }

    [Fact]
    public void BadInputsThrowTypedExceptionsAndDisposalIsSafe()
    {
        using var temp = new TempDirectory("api");
        var paths = WriteImages(Path.Combine(temp.Path, "in"));
        var detector = AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = Size });

        Assert.Throws<ArgumentException>(() => detector.Detect(ReadOnlySpan<byte>.Empty));
        var garbage = Assert.Throws<ImageDecodeException>(() => detector.Detect(new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 }));
        Assert.Contains("encoded image", garbage.Message);
        Assert.Throws<FileNotFoundException>(() => detector.Detect(Path.Combine(temp.Path, "nope.png")));
        Assert.Throws<ArgumentException>(() => detector.DetectMany([ReadOnlyMemory<byte>.Empty]).ToList());
        Assert.Throws<ArgumentOutOfRangeException>(() => detector.DetectMany(paths, 0));

        // A broken file in the middle: the results before it arrive, then its exception.
        var broken = Path.Combine(temp.Path, "broken.png");
        File.WriteAllBytes(broken, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var seen = new List<string>();
        var e = Assert.Throws<ImageDecodeException>(() =>
        {
            foreach (var r in detector.DetectMany([paths[0], paths[1], broken, paths[2]], 2))
            {
                seen.Add(r.Name);
            }
        });
        Assert.Contains("broken.png", e.Message);
        Assert.Equal([paths[0], paths[1]], seen);

        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => detector.DetectMany(paths, 1, cancelled.Token).ToList());
        }

        var pending = detector.DetectMany(paths);
        detector.Dispose();
        detector.Dispose();
        Assert.Throws<ObjectDisposedException>(() => detector.Detect(paths[0]));
        Assert.Throws<ObjectDisposedException>(() => detector.DetectMany(paths));
        Assert.Throws<ObjectDisposedException>(() => pending.ToList());
    }

    [Fact]
    public void BadModelsAndOptionsAreRefusedAsTheCliRefusesThem()
    {
        using var temp = new TempDirectory("api");
        // A CLIP file used as a head, as in InferCommandTests: the message names the file and the missing tensor.
        var e = Assert.Throws<ModelFormatException>(() => AnomalyDetector.Open(Clip, Clip, new DetectorOptions { Method = "vcp", ImageSize = Size }));
        Assert.Contains("tiny_clip.pt", e.Message);
        Assert.Contains("New_Lan_Embed.prompt_query", e.Message);
        Assert.Throws<ModelFormatException>(() => AnomalyDetector.Open(Clip, Clip));
        Assert.ThrowsAny<IOException>(() => AnomalyDetector.Open(Path.Combine(temp.Path, "none.pt"), VcpHead));
        Assert.Throws<ArgumentException>(() => AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = 0 }));
        Assert.Throws<ArgumentException>(() => AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { Precision = DetectorPrecision.Bf16 }));
        Assert.Throws<ArgumentException>(() => AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { Threshold = 1, ThresholdFile = "t.json" }));
        Assert.ThrowsAny<IOException>(() => AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ThresholdFile = Path.Combine(temp.Path, "none.json") }));
    }

    [Fact]
    public void EmulatedDeviceGivesTheCpuScoreWithinFp32Rounding()
    {
        var image = Pattern(30, 30, 4);
        using var cpu = AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = Size });
        using var emulated = AnomalyDetector.Open(Clip, VcpHead, new DetectorOptions { ImageSize = Size, Device = DetectorDevice.Emulated });
        // fp32 kernels with another summation order than the CPU's SIMD loops.
        Assert.Equal(cpu.Detect(image).Score, emulated.Detect(image).Score, 1e-4f);
    }
}
