// `vcp-native demo`: the whole job on generated data with no download - synthesise, train, evaluate, visualise.
using System.CommandLine;
using System.Diagnostics;
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Evaluation;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Anomaly.Synthetic;
using VcpNative.Anomaly.Visualization;
using VcpNative.IO.Images;
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

/// <summary>
/// A small random-initialised CLIP (frozen, as in the method) and VCP heads trained on some synthetic classes, then
/// evaluated on classes it never saw (zero-shot, as the paper's protocol), with pixel AUROC before and after.
/// </summary>
public static class DemoCommand
{
    public static readonly string[] TrainClasses = ["stripes", "checker", "washer", "bolt"];
    public static readonly string[] HeldOutClasses = ["wood", "dots", "capsule"];

    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "Output folder", DefaultValueFactory = _ => "demo-out" };
        var seed = new Option<int>("--seed") { Description = "Seed of data, model and training", DefaultValueFactory = _ => 333 };
        var steps = new Option<int>("--steps") { Description = "Training steps", DefaultValueFactory = _ => 120 };
        var size = new Option<int>("--image-size") { Description = "Model input size (multiple of 14)", DefaultValueFactory = _ => 112 };
        var lr = new Option<double>("--lr") { Description = "Learning rate (higher than the paper's 4e-5: the heads start from scratch and train briefly)", DefaultValueFactory = _ => 1e-3 };
        var command = new Command("demo", "Synthesise data, train a small model on some classes, evaluate on held-out classes (CPU, no download)")
        {
            output, seed, steps, size, lr,
        };
        command.SetAction(parse => Run(parse.GetValue(output)!, parse.GetValue(seed), parse.GetValue(steps), parse.GetValue(size), parse.GetValue(lr),
            GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(string output, int seed, int steps, int size, double lr, IBackend backend, TextWriter stdout, TextWriter stderr)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(output);
        var data = Path.Combine(output, "data");
        var summary = SyntheticDataset.Generate(data, seed, new SyntheticOptions { ImageSize = 128 });
        stdout.WriteLine($"demo: synthetic dataset with {summary.Classes.Count} classes in {data} ({clock.Elapsed.TotalSeconds:F1} s)");
        var train = DatasetReader.Read(data, DatasetLayout.MvtecAd, DatasetSplit.Test, TrainClasses);
        var heldOut = DatasetReader.Read(data, DatasetLayout.MvtecAd, DatasetSplit.Test, HeldOutClasses);

        // A random CLIP of the tiny architecture; VCP-CLIP's backbone uses exact GELU and bicubic position resize.
        var arch = ModelArchitecture.Tiny;
        var clipPath = Path.Combine(output, "random_clip.safetensors");
        var clipParameters = RandomWeights.Clip(arch, seed, backend);
        clipParameters.Save(clipPath, new Dictionary<string, string> { ["format"] = "vcp-native/clip", ["source"] = "vcp-native demo: random tiny CLIP" });
        using var clip = new ClipModel(clipParameters, ClipActivation.Gelu, PositionResizeMode.BicubicAntialias);
        var method = AnomalyMethods.Default;
        using var model = VcpMethod.Wrap(VcpModel.WithHeads(clip, null, seed, backend), size);
        var inference = model.Inference;

        var before = DatasetEvaluation.Run(inference, backend, heldOut, 8);
        var aurocBefore = MetricsReport.Mean(before)["auroc_px"];
        stdout.WriteLine($"demo: held-out classes ({string.Join(", ", HeldOutClasses)}) before training: pixel AUROC {Percent(aurocBefore)} ({clock.Elapsed.TotalSeconds:F1} s)");

        var settings = new TrainerOptions
        {
            Clip = clipPath,
            Data = data,
            Layout = DatasetLayout.MvtecAd,
            ImageSize = size,
            Epochs = 1000,
            Steps = steps,
            BatchSize = 8,
            LearningRate = lr,
            TemperatureLearningRate = 0.01,
            Seed = (ulong)seed,
            Augment = false,
            Shuffle = true,
            Dropout = 0.1f,
            CheckpointEvery = Math.Max(1, steps),
            EpochCheckpoints = false,
            Output = Path.Combine(output, "train"),
        };
        TrainingOutcome outcome;
        using (var observer = new ConsoleRunObserver(stdout, stderr))
        {
            outcome = new Trainer(backend, observer).Train(method.CreateTrainer(model, settings.HeadTraining), train, settings);
        }
        stdout.WriteLine($"demo: trained {outcome.Steps} steps on {string.Join(", ", TrainClasses)} (last loss {outcome.LastLoss:F4}) ({clock.Elapsed.TotalSeconds:F1} s)");

        var overlays = Path.Combine(output, "overlays");
        Directory.CreateDirectory(overlays);
        var after = DatasetEvaluation.Run(inference, backend, heldOut, 8, new EvaluationEvents
        {
            ImageDone = (sample, result) =>
            {
                if (sample.IsAnomalous)
                {
                    var image = Anomaly.Preprocessing.PillowResize.Resize(ImageDecoder.DecodeRgb(sample.ImagePath), size, size, Anomaly.Preprocessing.PillowFilter.Bicubic);
                    // Stretched to each map's own range: the demo shows where the model looks, not calibrated scores.
                    var (low, high) = (result.Map.Min(), result.Map.Max());
                    var name = $"{sample.ClassName}_{sample.DefectType}_{Path.GetFileNameWithoutExtension(sample.ImagePath)}.png";
                    PngEncoder.Write(Path.Combine(overlays, name), HeatmapOverlay.Render(image, result.Map, 0.5f, low, high));
                }
            },
        });
        MetricsReport.Write(Path.Combine(output, "after"), after);
        MetricsReport.Write(Path.Combine(output, "before"), before);
        var aurocAfter = MetricsReport.Mean(after)["auroc_px"];
        stdout.Write(MetricsReport.Markdown(after, MetricsReport.Mean(after)));
        stdout.WriteLine($"demo: pixel AUROC on held-out classes: before training {Percent(aurocBefore)}, after {Percent(aurocAfter)}");
        stdout.WriteLine($"demo: overlays in {overlays}, metrics in {Path.Combine(output, "after", "metrics.md")}; {clock.Elapsed.TotalSeconds:F0} s in total");
        return ExitCodes.Ok;
    }

    private static string Percent(Anomaly.Metrics.MetricValue v) => v.IsDefined ? $"{v.Value * 100:F2}" : "n/a";
}
