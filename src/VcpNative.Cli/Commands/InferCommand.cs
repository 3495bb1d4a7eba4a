// `vcp-native infer`: a folder of images in; anomaly maps, overlays, masks and scores out.
using System.CommandLine;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.Anomaly.Visualization;
using VcpNative.IO;
using VcpNative.IO.Images;
using VcpNative.IO.Results;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

/// <summary>
/// Batch inference that carries on past bad inputs: each failure is one line, finished results are written
/// after every batch, and the exit code is 3 when any input failed.
/// </summary>
public static class InferCommand
{
    public static readonly string[] ImageExtensions = ImageFiles.Extensions;

    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights: clip.safetensors from 'convert clip', or OpenAI's ViT-L-14-336px.pt", Required = true };
        var head = MethodOptions.Head();
        var method = MethodOptions.Method();
        var size = new Option<int>("--image-size") { Description = "Square input size in pixels (multiple of the patch size)", DefaultValueFactory = _ => 518 };
        var threshold = new Option<string?>("--threshold") { Description = "Image-score threshold (a number, or threshold.json from calibrate): marks images anomalous and writes masks" };
        var pixelThreshold = new Option<float>("--pixel-threshold") { Description = "Map value above which a pixel is anomalous in masks/ (used with --threshold)", DefaultValueFactory = _ => 0.5f };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };
        var saveMaps = new Option<bool>("--save-maps") { Description = "Write maps/<stem>.npy (float32 [H,W], before any normalisation)" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder", Required = true };
        var inputs = new Argument<string[]>("inputs") { Description = "Image files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("infer", "Anomaly maps and scores for images with VCP-CLIP or ViP2-CLIP")
        {
            clip, head, method, size, threshold, pixelThreshold, batch, saveMaps, output, inputs,
        };
        command.SetAction(parse => Run(new InferSettings(
            parse.GetValue(clip)!, parse.GetValue(head)!, parse.GetValue(size), parse.GetValue(threshold) is string t ? ThresholdFile.Parse(t) : null, parse.GetValue(pixelThreshold),
            Math.Max(1, parse.GetValue(batch)), parse.GetValue(saveMaps), parse.GetValue(output)!, parse.GetValue(inputs)!, parse.GetValue(method)),
            GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public sealed record InferSettings(string Clip, string Head, int ImageSize, double? Threshold, float PixelThreshold,
        int BatchSize, bool SaveMaps, string Output, string[] Inputs, string? Method = null);

    public static int Run(InferSettings s, IBackend backend, TextWriter output, TextWriter error)
    {
        if (s.ImageSize < 1 || s.ImageSize > 4096)
        {
            throw new ArgumentException($"--image-size {s.ImageSize} is out of range (1..4096)");
        }
        var failures = new List<string>();
        var files = ExpandInputs(s.Inputs, failures);
        // Model first: a head that does not fit the CLIP is refused before any image is read.
        using var model = AnomalyModelLoader.Load(s.Clip, s.Head, s.ImageSize, backend, s.Method);
        var inference = model.Inference;
        Directory.CreateDirectory(s.Output);
        if (s.SaveMaps)
        {
            Directory.CreateDirectory(Path.Combine(s.Output, "maps"));
        }
        Directory.CreateDirectory(Path.Combine(s.Output, "overlays"));
        if (s.Threshold is not null)
        {
            Directory.CreateDirectory(Path.Combine(s.Output, "masks"));
        }
        var stems = new UniqueStems();
        var records = new List<ImageResultRecord>();
        var loop = new ImageInferenceLoop(inference, backend, s.BatchSize);
        using (var progress = new ProgressReporter("infer", files.Count, error))
        {
            loop.Run(
                files,
                (path, resized, result) => records.Add(WriteOutputs(s, stems.For(path), path, resized, result)),
                (path, e) =>
                {
                    failures.Add($"{path}: {CliApp.OneLine(e)}");
                    error.WriteLine($"vcp-native: skipped {path}: {CliApp.OneLine(e)}");
                },
                done =>
                {
                    ResultsWriter.Write(s.Output, records);
                    progress.Advance(done);
                });
            ResultsWriter.Write(s.Output, records);
            output.WriteLine($"infer ({model.Method}): {records.Count} images in {progress.Elapsed.TotalSeconds:F1} s ({progress.ItemsPerSecond:F2} img/s); results in {Path.Combine(s.Output, "results.json")}");
        }
        if (s.Threshold is not null)
        {
            var flagged = records.Count(r => r.Anomalous == true);
            output.WriteLine($"infer: {flagged} of {records.Count} images above threshold {s.Threshold}");
        }
        if (failures.Count > 0)
        {
            error.WriteLine($"vcp-native: {failures.Count} input(s) failed:");
            foreach (var f in failures)
            {
                error.WriteLine($"  {f}");
            }
            return ExitCodes.PartialFailure;
        }
        return ExitCodes.Ok;
    }

    private static ImageResultRecord WriteOutputs(InferSettings s, string stem, string input, RgbImage resized, AnomalyImageResult result)
    {
        string? mapPath = null;
        string? maskPath = null;
        if (s.SaveMaps)
        {
            mapPath = Path.Combine("maps", stem + ".npy");
            NpyWriter.Write(Path.Combine(s.Output, mapPath), result.Map, result.Size, result.Size);
        }
        var overlayPath = Path.Combine("overlays", stem + ".png");
        PngEncoder.Write(Path.Combine(s.Output, overlayPath), HeatmapOverlay.Render(resized, result.Map));
        bool? anomalous = null;
        if (s.Threshold is double t)
        {
            anomalous = result.Score > t;
            maskPath = Path.Combine("masks", stem + ".png");
            PngEncoder.Write(Path.Combine(s.Output, maskPath), HeatmapOverlay.Mask(result.Map, result.Size, result.Size, s.PixelThreshold));
        }
        return new ImageResultRecord(input, result.Score, anomalous, mapPath, overlayPath, maskPath);
    }

    /// <summary>Image files named by the arguments, folders searched recursively, in ordinal order; missing paths are failures.</summary>
    public static List<string> ExpandInputs(IEnumerable<string> inputs, List<string> failures)
    {
        var missing = new List<string>();
        var files = ImageFiles.Expand(inputs, missing);
        failures.AddRange(missing.Select(m => $"{m}: no such file or folder"));
        return files;
    }
}
