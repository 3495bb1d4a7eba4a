// `vcp-native infer`: images in; anomaly maps, overlays, masks, scores and a resumable journal out.
using System.CommandLine;
using System.Runtime.InteropServices;
using VcpNative.Anomaly.Methods;
using VcpNative.IO;
using VcpNative.IO.Images;
using VcpNative.IO.Results;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

/// <summary>
/// The CLI face of <see cref="BatchInference"/>: options in, one library call, a summary out. SIGINT/SIGTERM finish the
/// batch in flight and exit 130/143 with the command that resumes; a failed input is a record, not the end of the run.
/// </summary>
public static class InferCommand
{
    public static readonly string[] ImageExtensions = ImageFiles.Extensions;

    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights: clip.safetensors from 'convert clip', or OpenAI's ViT-L-14-336px.pt", Required = true };
        var head = MethodOptions.Head();
        var method = MethodOptions.Method();
        var size = new Option<int>("--image-size") { Description = "Square input size in pixels (multiple of the patch size); default: the size the head was trained at when its file records it, else 518", DefaultValueFactory = _ => DetectorOptions.DefaultImageSize }.InRange(1, AnomalyModelLoader.MaxImageSize);
        var threshold = new Option<string?>("--threshold") { Description = "Image-score threshold (a number, or threshold.json from calibrate): marks images anomalous and writes masks" };
        var pixelThreshold = new Option<float>("--pixel-threshold") { Description = "Map value above which a pixel is anomalous in masks/ (used with --threshold)", DefaultValueFactory = _ => 0.5f };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass (and per journal flush)", DefaultValueFactory = _ => 1 }.InRange(1, 65536);
        var inFlight = new Option<int>("--in-flight")
        {
            Description = "CPU: batches computed at once, each on --threads / N threads (2 on 2 cores: more images/s, twice the latency per image; see docs/performance.md)",
            DefaultValueFactory = _ => 1,
        };
        var saveMaps = new Option<bool>("--save-maps") { Description = "Write maps/<stem>.npy (float32 [H,W], before any normalisation)" };
        var mapsAt = new Option<string>("--maps-at") { Description = "Size of --save-maps maps: model (the square model size, the authors' maps) or original (the image's own size, as overlays and masks)", DefaultValueFactory = _ => "model" }
            .AcceptOnlyFromAmong("model", "original");
        var output = new Option<string>("--output", "-o") { Description = "Output folder (must be empty unless --resume or --overwrite)", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run that wrote --output: skip inputs whose record in results.jsonl matches path, size and mtime" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Delete what an earlier run wrote in --output and start again" };
        var filesFrom = new Option<string?>("--files-from") { Description = "Also read input paths from this file, one per line ('-' for standard input)" };
        var shard = ShardOption.Create("inputs");
        var noReport = new Option<bool>("--no-report") { Description = "Do not write report.html and its thumbnails (report_files/)" };
        var compute = ComputeOption.Create();
        var inputs = new Argument<string[]>("inputs") { Description = "Image files or folders (searched recursively)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("infer", "Anomaly maps and scores for images with VCP-CLIP or ViP2-CLIP")
        {
            clip, head, method, size, threshold, pixelThreshold, batch, inFlight, saveMaps, mapsAt, output, resume, overwrite, filesFrom, shard, noReport, compute, inputs,
        };
        command.SetAction(parse =>
        {
            var calibration = parse.GetValue(threshold) is string t && !double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _) && File.Exists(t)
                ? ThresholdFile.Load(t) : null;
            if (parse.GetValue(resume) && parse.GetValue(overwrite))
            {
                throw new UsageException("--resume and --overwrite exclude each other");
            }
            var backend = GlobalOptions.ResolveBackend(parse);
            var options = new BatchInferenceOptions
            {
                Compute = ComputeOption.Read(parse, compute, backend),
                Clip = parse.GetValue(clip)!,
                Head = parse.GetValue(head)!,
                Method = parse.GetValue(method),
                ImageSize = parse.GetResult(size) is { Implicit: false } ? parse.GetValue(size) : null,
                Threshold = calibration?.Threshold ?? (parse.GetValue(threshold) is string value ? ThresholdFile.Parse(value) : null),
                Calibration = calibration,
                PixelThreshold = parse.GetValue(pixelThreshold),
                BatchSize = parse.GetValue(batch),
                InFlight = parse.GetValue(inFlight),
                SaveMaps = parse.GetValue(saveMaps),
                MapsAt = parse.GetValue(mapsAt) == "original" ? MapResolution.Original : MapResolution.Model,
                Output = parse.GetValue(output)!,
                Inputs = [.. parse.GetValue(inputs) ?? [], .. ReadList(parse.GetValue(filesFrom))],
                ExistingOutput = parse.GetValue(resume) ? ExistingOutput.Resume : parse.GetValue(overwrite) ? ExistingOutput.Overwrite : ExistingOutput.Refuse,
                Shard = ShardOption.Read(parse, shard),
                Report = !parse.GetValue(noReport),
            };
            return Run(options, backend, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    /// <summary>Runs the job with SIGINT/SIGTERM wired to its cancellation; prints the summary; returns the exit code.</summary>
    public static int Run(BatchInferenceOptions options, IBackend backend, TextWriter output, TextWriter error)
    {
        using var cancel = new CancellationTokenSource();
        var signal = 0;
        void Stop(PosixSignalContext context)
        {
            if (cancel.IsCancellationRequested)
            {
                return; // a second signal ends the process at once (the journal holds every flushed batch)
            }
            context.Cancel = true; // the job ends itself after the batch in flight
            Interlocked.CompareExchange(ref signal, context.Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted, 0);
            error.WriteLine($"vcp-native: {context.Signal}: finishing the batch in flight...");
            cancel.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var observer = new ConsoleRunObserver(output, error);
        if (options.ImageSize is int asked && File.Exists(options.Head) && AnomalyModelLoader.TrainedImageSize(options.Head) is int trained && trained != asked)
        {
            error.WriteLine($"vcp-native: warning: --image-size {asked} overrides {trained}, the size {options.Head} was trained at; scores and thresholds at other sizes are not comparable");
        }
        BatchInferenceOutcome outcome;
        try
        {
            outcome = new BatchInference(backend, observer).Run(options, cancel.Token);
        }
        catch (RunSetupException e) when (Flags.ContainsKey(e.Setting))
        {
            throw new UsageException($"{Flags[e.Setting]}: {e.Message}", e);
        }
        catch (DiskFullException e)
        {
            error.WriteLine($"vcp-native: error: {e.Message}; every finished input is in {Path.Combine(options.Output, ResultsJournal.FileName)}: free space and rerun with --resume");
            return ExitCodes.Failure;
        }
        var rate = outcome.Processed / Math.Max(1e-9, outcome.Elapsed.TotalSeconds);
        if (options.ImageSize is null && outcome.ImageSize != DetectorOptions.DefaultImageSize)
        {
            output.WriteLine($"infer: --image-size {outcome.ImageSize}, the size {options.Head} was trained at");
        }
        output.WriteLine($"infer ({outcome.Method}): {outcome.Succeeded} images in {outcome.Elapsed.TotalSeconds:F1} s ({rate:F2} img/s); results in {outcome.ResultsPath}");
        if (outcome.ReportPath is not null)
        {
            output.WriteLine($"infer: report in {outcome.ReportPath}");
        }
        if (outcome.Resumed > 0)
        {
            output.WriteLine($"infer: {outcome.Resumed} input(s) finished by the earlier run were skipped");
        }
        if (options.Threshold is not null)
        {
            output.WriteLine($"infer: {outcome.Flagged} of {outcome.Succeeded} images above threshold {options.Threshold}");
        }
        if (outcome.Unsupported.Count > 0)
        {
            error.WriteLine($"vcp-native: skipped {outcome.Unsupported.Count} file(s) with extensions other than {string.Join(", ", ImageFiles.Extensions)}:");
            foreach (var f in outcome.Unsupported)
            {
                error.WriteLine($"  {f}");
            }
        }
        if (outcome.Interrupted)
        {
            error.WriteLine($"vcp-native: interrupted after {outcome.Succeeded + outcome.Failures.Count} of {outcome.Inputs} inputs; to continue, run the same command with --resume");
            return signal == 0 ? ExitCodes.Interrupted : signal;
        }
        if (outcome.Failures.Count > 0)
        {
            error.WriteLine($"vcp-native: {outcome.Failures.Count} input(s) failed:");
            foreach (var f in outcome.Failures)
            {
                error.WriteLine($"  {ErrorText.ForInput(f.Path, f.Error)}");
            }
            return ExitCodes.PartialFailure;
        }
        return ExitCodes.Ok;
    }

    /// <summary>The flag of each <see cref="BatchInferenceOptions"/> property a <see cref="RunSetupException"/> may name.</summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        [nameof(BatchInferenceOptions.Inputs)] = "inputs",
        [nameof(BatchInferenceOptions.Output)] = "--output",
        [nameof(BatchInferenceOptions.BatchSize)] = "--batch-size",
        [nameof(BatchInferenceOptions.InFlight)] = "--in-flight",
        [nameof(BatchInferenceOptions.ImageSize)] = "--image-size",
        [nameof(BatchInferenceOptions.Threshold)] = "--threshold",
    };

    /// <summary>Paths from a list file (or standard input for "-"), one per line; blank lines are ignored.</summary>
    private static IEnumerable<string> ReadList(string? list)
    {
        if (list is null)
        {
            return [];
        }
        if (list != "-" && !File.Exists(list))
        {
            throw new UsageException($"--files-from: {list}: no such file");
        }
        var lines = list == "-" ? Console.In.ReadToEnd().Split('\n') : File.ReadAllLines(list);
        return lines.Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
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
