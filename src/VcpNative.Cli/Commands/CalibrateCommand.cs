// `vcp-native calibrate`: pick an image-score threshold from a folder of normal images.
using System.CommandLine;
using VcpNative.IO.Results;

namespace VcpNative.Cli.Commands;

public static class CalibrateCommand
{
    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights (as for infer)", Required = true };
        var head = MethodOptions.Head();
        var method = MethodOptions.Method();
        var size = new Option<int>("--image-size") { Description = "Square input size", DefaultValueFactory = _ => DetectorOptions.DefaultImageSize }.InRange(1, 4096);
        var percentile = new Option<double>("--percentile") { Description = "Percentile of normal-image scores", DefaultValueFactory = _ => 99.0 }.InRange(0.0, 100.0);
        var margin = new Option<double>("--margin") { Description = "Added to that percentile (score units)", DefaultValueFactory = _ => 0.02 };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 }.InRange(1, 65536);
        var output = new Option<string>("--output", "-o") { Description = "Output folder (threshold.json, results.json)", Required = true };
        var inputs = new Argument<string[]>("normal-images") { Description = "Files or folders of normal (defect-free) images", Arity = ArgumentArity.OneOrMore };
        var command = new Command("calibrate", "Choose an image-score threshold from normal images: percentile + margin; use it with infer --threshold OUT/threshold.json")
        {
            clip, head, method, size, percentile, margin, batch, output, inputs,
        };
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            var backend = GlobalOptions.ResolveBackend(parse);
            var failures = new List<string>();
            var files = InferCommand.ExpandInputs(parse.GetValue(inputs)!, failures);
            using var detector = AnomalyDetector.Open(parse.GetValue(clip)!, parse.GetValue(head)!, backend,
                new DetectorOptions { ImageSize = parse.GetValue(size), Method = parse.GetValue(method) });
            var options = new CalibrationOptions
            {
                Percentile = parse.GetValue(percentile), Margin = parse.GetValue(margin), BatchSize = parse.GetValue(batch), OutputFolder = parse.GetValue(output)!,
                ModelFingerprint = ModelFingerprint.Of(parse.GetValue(clip)!, parse.GetValue(head)!),
            };
            CalibrationResult result;
            using (var progress = new ProgressReporter("calibrate", files.Count, err))
            {
                result = Calibrator.Run(detector, files, options, done => progress.Advance(done));
            }
            var threshold = result.Threshold;
            o.WriteLine($"calibrate: {threshold.Images} normal images, scores {threshold.ScoreMin:F4}..{threshold.ScoreMax:F4}; threshold {threshold.Threshold:F4} (p{threshold.Percentile} + {threshold.Margin}) written to {result.ThresholdPath}");
            failures.AddRange(result.Failures.Select(f => $"{f.Input}: {CliApp.OneLine(f.Error)}"));
            foreach (var f in failures)
            {
                err.WriteLine($"vcp-native: skipped {f}");
            }
            return failures.Count > 0 ? ExitCodes.PartialFailure : ExitCodes.Ok;
        });
        return command;
    }
}
