// Linear cost of `infer` as a batch job: images/s over the last tenth of N images against the first tenth of the same
// run (the peer), and the time a --resume takes to skip all N finished inputs.
using System.Diagnostics;
using System.Globalization;
using VcpNative.IO.Images;
using VcpNative.Tensors;

namespace VcpNative.Bench;

/// <summary>
/// <c>batch-job --images N [--batch-size B] [--image-size S] [--dir D]</c>: N small PNGs (16 distinct pictures, copied)
/// through the tiny test model with the job's full output (journal, overlays, masks); issue 20 asks for a last/first
/// tenth ratio >= 0.9 at N = 100k and a resume skip under 5 s.
/// </summary>
public static class BatchJobBench
{
    public static int Run(string[] args)
    {
        var images = Arg(args, "--images", 10_000);
        var batchSize = Arg(args, "--batch-size", 8);
        var imageSize = Arg(args, "--image-size", 112);
        var root = args.SkipWhile(a => a != "--dir").Skip(1).FirstOrDefault() ?? Path.Combine(Path.GetTempPath(), "vcp-batch-job-bench");
        var fixtures = FindFixtures();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
        var inputs = Path.Combine(root, "in");
        Directory.CreateDirectory(inputs);
        var clock = Stopwatch.StartNew();
        var pictures = new List<byte[]>();
        for (var i = 0; i < 16; i++)
        {
            var img = new RgbImage(40, 32);
            new Random(i).NextBytes(img.Pixels);
            pictures.Add(PngEncoder.Encode(img));
        }
        for (var i = 0; i < images; i++)
        {
            // 1000 files per folder: the folder walk is part of the job, a 100k-entry folder is not what users have.
            var dir = Path.Combine(inputs, (i / 1000).ToString("D4", CultureInfo.InvariantCulture));
            if (i % 1000 == 0)
            {
                Directory.CreateDirectory(dir);
            }
            File.WriteAllBytes(Path.Combine(dir, $"img{i:D6}.png"), pictures[i % pictures.Count]);
        }
        Console.WriteLine($"batch-job: wrote {images} inputs in {clock.Elapsed.TotalSeconds:F1} s");

        var options = new BatchInferenceOptions
        {
            Clip = Path.Combine(fixtures, "clip", "tiny_clip.pt"),
            Head = Path.Combine(fixtures, "vcp", "vcp_head.pth"),
            ImageSize = imageSize,
            BatchSize = batchSize,
            Threshold = 0.5,
            Output = Path.Combine(root, "out"),
            Inputs = [inputs],
        };
        var backend = DeviceBackends.Create("cpu");
        var progress = new ProgressTimes();
        clock.Restart();
        var outcome = new BatchInference(backend, progress).Run(options);
        var total = clock.Elapsed.TotalSeconds;
        var tenth = Math.Max(1, images / 10);
        var first = progress.RateOver(0, tenth);
        var last = progress.RateOver(images - tenth, images);
        Console.WriteLine($"batch-job: {outcome.Succeeded}/{images} images in {total:F1} s ({images / total:F1} img/s overall), batch {batchSize}, {imageSize} px");
        Console.WriteLine($"batch-job: first tenth {first:F1} img/s, last tenth {last:F1} img/s, ratio last/first {last / first:F3} (issue 20: >= 0.9)");
        // The first tenth includes JIT and cache warm-up: the second tenth is the fairer peer for the last.
        var tenths = Enumerable.Range(0, 10).Select(t => progress.RateOver(t * tenth, Math.Min(images, (t + 1) * tenth))).ToList();
        Console.WriteLine($"batch-job: img/s per tenth: {string.Join(", ", tenths.Select(r => r.ToString("F1", CultureInfo.InvariantCulture)))}; last/second {last / tenths[1]:F3}");

        clock.Restart();
        var resumed = new BatchInference(backend).Run(options with { ExistingOutput = ExistingOutput.Resume });
        Console.WriteLine($"batch-job: --resume over {resumed.Resumed} finished inputs took {clock.Elapsed.TotalSeconds:F2} s in all (model load, folder walk, journal read, results rewrite; issue 20: < 5 s at 100k)");
        Directory.Delete(root, recursive: true);
        return outcome.Succeeded == images && resumed.Resumed == images ? 0 : 1;
    }

    /// <summary>Wall time at each progress report, to take rates over any stretch of the run.</summary>
    private sealed class ProgressTimes : IRunObserver
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly List<(int Done, double Seconds)> marks = [(0, 0)];

        public void OnProgress(string stage, int done, int total, string? status) => marks.Add((done, clock.Elapsed.TotalSeconds));

        /// <summary>Images per second between the reports nearest to <paramref name="from"/> and <paramref name="to"/> images done.</summary>
        public double RateOver(int from, int to)
        {
            var a = marks.Last(m => m.Done <= from);
            var b = marks.First(m => m.Done >= to);
            return (b.Done - a.Done) / Math.Max(1e-9, b.Seconds - a.Seconds);
        }
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>tests/VcpNative.Tests/Fixtures, found from the bench's folder upwards.</summary>
    private static string FindFixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "VcpNative.Tests", "Fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/VcpNative.Tests/Fixtures not found above " + AppContext.BaseDirectory);
    }
}
