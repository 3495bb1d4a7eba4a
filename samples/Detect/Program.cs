// Sample: scores images with the VcpNative package. Usage: dotnet run --project samples/Detect -- CLIP HEAD IMAGE...
// Prints "score <value>" per image, the raw score `vcp-native infer` writes, in a form that parses back to the same float.
using System.Globalization;
using VcpNative;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: Detect CLIP HEAD IMAGE...");
    return 2;
}
using var detector = AnomalyDetector.Open(args[0], args[1]);
foreach (var result in detector.DetectMany(args[2..]))
{
    Console.WriteLine($"score {result.Score.ToString("R", CultureInfo.InvariantCulture)}");
}
return 0;
