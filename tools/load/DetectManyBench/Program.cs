// Images per second of AnomalyDetector.DetectMany over one encoded image repeated, the peer of `serve` in serve-load.sh.
// Usage: DetectManyBench CLIP HEAD IMAGE_SIZE IMAGE BATCH COUNT   (prints "detect_many_images_per_s <value>")
using System.Diagnostics;
using System.Globalization;
using VcpNative;

if (args.Length != 6)
{
    Console.Error.WriteLine("usage: DetectManyBench CLIP HEAD IMAGE_SIZE IMAGE BATCH COUNT");
    return 2;
}
var inv = CultureInfo.InvariantCulture;
using var detector = AnomalyDetector.Open(args[0], args[1], new DetectorOptions { ImageSize = int.Parse(args[2], inv) });
ReadOnlyMemory<byte> image = File.ReadAllBytes(args[3]);
var batch = int.Parse(args[4], inv);
var count = int.Parse(args[5], inv);
foreach (var _ in detector.DetectMany(Enumerable.Repeat(image, batch * 2), batch))
{
    // warm-up: JIT, buffers
}
var clock = Stopwatch.StartNew();
var done = detector.DetectMany(Enumerable.Repeat(image, count), batch).Count();
Console.WriteLine($"detect_many_images_per_s {(done / clock.Elapsed.TotalSeconds).ToString("F1", inv)}");
return 0;
