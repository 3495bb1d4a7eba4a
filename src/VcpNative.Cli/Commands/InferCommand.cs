// `vcp-native infer`: a folder of images in; anomaly maps, overlays, masks and scores out.
using System.CommandLine;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
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
    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];

    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights: clip.safetensors from 'convert clip', or OpenAI's ViT-L-14-336px.pt", Required = true };
        var head = new Option<string>("--head") { Description = "VCP-CLIP heads: vcp.safetensors from 'convert vcp', or the authors' .pth", Required = true };
        var size = new Option<int>("--image-size") { Description = "Square input size in pixels (multiple of the patch size)", DefaultValueFactory = _ => 518 };
        var threshold = new Option<double?>("--threshold") { Description = "Image-score threshold: marks images anomalous and writes masks" };
        var pixelThreshold = new Option<float>("--pixel-threshold") { Description = "Map value above which a pixel is anomalous in masks/ (used with --threshold)", DefaultValueFactory = _ => 0.5f };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };
        var saveMaps = new Option<bool>("--save-maps") { Description = "Write maps/<stem>.npy (float32 [H,W], before any normalisation)" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder", Required = true };
        var inputs = new Argument<string[]>("inputs") { Description = "Image files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("infer", "Anomaly maps and scores for images with VCP-CLIP")
        {
            clip, head, size, threshold, pixelThreshold, batch, saveMaps, output, inputs,
        };
        command.SetAction(parse => Run(new InferSettings(
            parse.GetValue(clip)!, parse.GetValue(head)!, parse.GetValue(size), parse.GetValue(threshold), parse.GetValue(pixelThreshold),
            Math.Max(1, parse.GetValue(batch)), parse.GetValue(saveMaps), parse.GetValue(output)!, parse.GetValue(inputs)!),
            GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public sealed record InferSettings(string Clip, string Head, int ImageSize, double? Threshold, float PixelThreshold,
        int BatchSize, bool SaveMaps, string Output, string[] Inputs);

    public static int Run(InferSettings s, IBackend backend, TextWriter output, TextWriter error)
    {
        if (s.ImageSize < 1 || s.ImageSize > 4096)
        {
            throw new ArgumentException($"--image-size {s.ImageSize} is out of range (1..4096)");
        }
        var failures = new List<string>();
        var files = ExpandInputs(s.Inputs, failures);
        // Model first: a head that does not fit the CLIP is refused before any image is read.
        using var model = VcpModel.Load(s.Clip, s.Head, backend);
        var inference = new VcpInference(model, s.ImageSize);
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
        var pending = new List<(string Path, RgbImage Resized, float[] Input)>();
        var limits = new ImageSizeLimits();
        using (var progress = new ProgressReporter("infer", files.Count, error))
        {
            void Flush()
            {
                if (pending.Count == 0)
                {
                    return;
                }
                var size = s.ImageSize;
                var data = new float[pending.Count * 3 * size * size];
                for (var i = 0; i < pending.Count; i++)
                {
                    pending[i].Input.CopyTo(data, i * 3 * size * size);
                }
                using var scope = new TensorScope();
                var images = Tensor.FromArray(data, [pending.Count, 3, size, size], backend);
                var results = inference.Run(images);
                for (var i = 0; i < pending.Count; i++)
                {
                    records.Add(WriteOutputs(s, stems.For(pending[i].Path), pending[i].Path, pending[i].Resized, results[i]));
                }
                ResultsWriter.Write(s.Output, records);
                progress.Advance(pending.Count);
                pending.Clear();
            }

            foreach (var file in files)
            {
                try
                {
                    var bytes = File.ReadAllBytes(file);
                    limits.Check(ImageDecoder.ReadHeader(bytes, file), file);
                    var image = ImageDecoder.Decode(bytes, file, limits).ToRgb();
                    var resized = PillowResize.Resize(image, s.ImageSize, s.ImageSize, PillowFilter.Bicubic);
                    pending.Add((file, resized, ClipPreprocess.ToTensorData(resized, s.ImageSize)));
                }
                catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    failures.Add($"{file}: {CliApp.OneLine(e)}");
                    error.WriteLine($"vcp-native: skipped {file}: {CliApp.OneLine(e)}");
                    progress.Advance(0);
                    continue;
                }
                if (pending.Count == s.BatchSize)
                {
                    Flush();
                }
            }
            Flush();
            ResultsWriter.Write(s.Output, records);
            output.WriteLine($"infer: {records.Count} images in {progress.Elapsed.TotalSeconds:F1} s ({progress.ItemsPerSecond:F2} img/s); results in {Path.Combine(s.Output, "results.json")}");
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

    private static ImageResultRecord WriteOutputs(InferSettings s, string stem, string input, RgbImage resized, VcpImageResult result)
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
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .ToList();
                found.Sort(StringComparer.Ordinal);
                files.AddRange(found);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                failures.Add($"{input}: no such file or folder");
            }
        }
        return files;
    }

    /// <summary>Output names from file stems; a repeated stem gets a numeric suffix so nothing is overwritten.</summary>
    private sealed class UniqueStems
    {
        private readonly HashSet<string> used = new(StringComparer.Ordinal);

        public string For(string path)
        {
            var stem = Path.GetFileNameWithoutExtension(path);
            var candidate = stem;
            for (var n = 2; !used.Add(candidate); n++)
            {
                candidate = $"{stem}_{n}";
            }
            return candidate;
        }
    }
}
