// A bounded random-mutation pass over every image fixture (issue #17's CI part, before the afl++ campaigns): whatever
// the bytes, ImageDecoder.ReadHeader and Decode either succeed or throw ImageDecodeException, never anything else.
using System.Diagnostics;
using VcpNative.IO.Images;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.IO.Images;

public class DecoderMutationTests(ITestOutputHelper log)
{
    /// <summary>
    /// Wall-time budget of the whole pass (checked between mutants); the seed is fixed, so a failure reproduces with the
    /// same mutant. Slow decodes are reported, not failed: the hang bound (1 s) belongs to issue #17's campaigns, and
    /// the slowest known one (a CCITT G4 TIFF with two random bytes, 12 s inside LibTiff.NET on a 2-core EPYC) is open there.
    /// </summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

    [Fact]
    public void MutatedImagesDecodeOrFailWithTheTypedExceptionOnly()
    {
        var seeds = Directory.GetFiles(Fixtures.Path("images", "formats"))
            .Concat(Directory.GetFiles(Fixtures.Path("images", "decode")))
            .Where(f => ImageFiles.IsImage(f))
            .Order(StringComparer.Ordinal)
            .Select(f => (Name: Path.GetFileName(f), Bytes: File.ReadAllBytes(f)))
            .ToList();
        Assert.True(seeds.Count >= 40, $"only {seeds.Count} seed images found");
        var rng = new Random(17);
        var limits = new ImageSizeLimits(4096, 4096L * 4096);
        var clock = Stopwatch.StartNew();
        var tried = 0;
        var failures = new List<string>();
        var slowest = (Seconds: 0.0, What: "");
        for (var round = 0; clock.Elapsed < Budget && failures.Count < 10; round++)
        {
            var (name, original) = seeds[round % seeds.Count];
            var mutant = Mutate(original, rng, out var how);
            tried++;
            var started = clock.Elapsed;
            try
            {
                ImageDecoder.ReadHeader(mutant, name);
                ImageDecoder.Decode(mutant, name, limits);
            }
            catch (ImageDecodeException)
            {
            }
            catch (Exception e)
            {
                var path = Path.Combine(Path.GetTempPath(), $"vcp-mutant-{round}-{name}");
                File.WriteAllBytes(path, mutant);
                failures.Add($"{name} ({how}) -> {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")} [saved {path}]");
            }
            var took = (clock.Elapsed - started).TotalSeconds;
            if (took > slowest.Seconds)
            {
                slowest = (took, $"{name} ({how}), round {round}");
            }
        }
        log.WriteLine($"{tried} mutants of {seeds.Count} seed images in {clock.Elapsed.TotalSeconds:F1} s; {failures.Count} escaped; slowest {slowest.Seconds:F2} s: {slowest.What}");
        Assert.True(tried >= seeds.Count, $"only {tried} mutants in the budget");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [InlineData("jpeg_dht_overfull_length1.jpg", "over-fill the code space at length 1")] // threw IndexOutOfRangeException
    public void EscapesFoundByThePassStayFixed(string file, string message)
    {
        var path = Fixtures.Path("images", "regressions", file);
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(path));
        Assert.Contains(message, e.Message);
        Assert.Contains(file, e.Message);
    }

    /// <summary>One to four byte flips, a truncation, a duplicated chunk, or a run of random bytes.</summary>
    private static byte[] Mutate(byte[] original, Random rng, out string how)
    {
        var bytes = (byte[])original.Clone();
        switch (rng.Next(4))
        {
            case 0:
                var flips = rng.Next(1, 5);
                var at = new List<int>();
                for (var i = 0; i < flips; i++)
                {
                    // Headers matter most: half the flips land in the first 64 bytes.
                    var p = rng.Next(2) == 0 ? rng.Next(Math.Min(64, bytes.Length)) : rng.Next(bytes.Length);
                    bytes[p] = (byte)rng.Next(256);
                    at.Add(p);
                }
                how = "bytes at " + string.Join(",", at);
                return bytes;
            case 1:
                var keep = rng.Next(bytes.Length);
                how = $"truncated to {keep}";
                return bytes[..keep];
            case 2:
                var start = rng.Next(bytes.Length);
                var length = Math.Min(rng.Next(1, 64), bytes.Length - start);
                how = $"{length} bytes at {start} repeated";
                return [.. bytes[..(start + length)], .. bytes[start..]];
            default:
                var from = rng.Next(bytes.Length);
                var count = Math.Min(rng.Next(1, 32), bytes.Length - from);
                rng.NextBytes(bytes.AsSpan(from, count));
                how = $"{count} random bytes at {from}";
                return bytes;
        }
    }
}
