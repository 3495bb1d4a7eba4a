// What a batch inference job runs: model files, inputs, output folder, thresholds, and what to do with an earlier run's outputs.
namespace VcpNative;

/// <summary>What <see cref="BatchInference.Run"/> does with an output folder that is not empty.</summary>
public enum ExistingOutput
{
    /// <summary>Refuse to start (<see cref="RunSetupException"/> naming <see cref="BatchInferenceOptions.Output"/>).</summary>
    Refuse,

    /// <summary>Continue the earlier run: inputs whose journal entry matches path, size and modification time are skipped.</summary>
    Resume,

    /// <summary>Delete what an earlier run wrote (journal, results, overlays, masks, maps) and start again.</summary>
    Overwrite,
}

/// <summary>At which size a batch job writes maps/&lt;stem&gt;.npy.</summary>
public enum MapResolution
{
    /// <summary>The model's square input size (the authors' maps, bit for bit).</summary>
    Model,

    /// <summary>The image's own size (after orientation), the model map resized bilinearly as overlays and masks are.</summary>
    Original,
}

/// <summary>Settings of a <see cref="BatchInference"/> job (the CLI's <c>infer</c>).</summary>
public sealed record BatchInferenceOptions
{
    /// <summary>CLIP weights (safetensors from convert, or OpenAI's .pt).</summary>
    public required string Clip { get; init; }

    /// <summary>Head weights of the method.</summary>
    public required string Head { get; init; }

    /// <summary>Method name ("vcp", "vip2"); null = detected from the head file.</summary>
    public string? Method { get; init; }

    /// <summary>
    /// Arithmetic of the image tower's transformer-block linear layers: fp32 (default), or int8 on the CPU
    /// (<see cref="Tensors.LinearCompute.Int8"/>; another backend refuses it).
    /// </summary>
    public Tensors.LinearCompute Compute { get; init; } = Tensors.LinearCompute.Fp32;

    /// <summary>
    /// Square input size in pixels; null = the size the head was trained at when its file records it
    /// (<c>train.image_size</c>), else <see cref="DetectorOptions.DefaultImageSize"/>.
    /// </summary>
    public int? ImageSize { get; init; }

    /// <summary>Image-score threshold: marks images anomalous and writes masks; null = neither.</summary>
    public double? Threshold { get; init; }

    /// <summary>
    /// The threshold.json <see cref="Threshold"/> came from, if any: the method, image size and CLIP/head fingerprint
    /// it records must be the job's, else the job is refused (<see cref="RunSetupException"/> naming Threshold).
    /// </summary>
    public IO.Results.ThresholdFile? Calibration { get; init; }

    /// <summary>Map value above which a mask pixel is anomalous (with <see cref="Threshold"/>).</summary>
    public float PixelThreshold { get; init; } = 0.5f;

    /// <summary>Images per forward pass (and per journal flush), at least 1.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>
    /// CPU only: batches computed at once, each on an equal share of the CPU threads (at least one). 2 on a 2-core
    /// machine gives more images per second than one batch on both cores, at about twice the latency of an image and
    /// the activation memory of two batches (docs/performance.md). 1 (the default) is one batch at a time; ignored
    /// on a GPU backend, which overlaps batches itself.
    /// </summary>
    public int InFlight { get; init; } = 1;

    /// <summary>Also write maps/&lt;stem&gt;.npy (float32 [H,W]).</summary>
    public bool SaveMaps { get; init; }

    /// <summary>
    /// Size of the maps written with <see cref="SaveMaps"/>. Overlays and masks are always at the image's own size (the
    /// map resized bilinearly); results record that width and height.
    /// </summary>
    public MapResolution MapsAt { get; init; } = MapResolution.Model;

    /// <summary>Output folder: results.jsonl, results.json, results.csv, overlays/, masks/, maps/.</summary>
    public required string Output { get; init; }

    /// <summary>Image files and folders (searched recursively by <see cref="IO.Images.ImageFiles.Extensions"/>).</summary>
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>What to do when <see cref="Output"/> is not empty.</summary>
    public ExistingOutput ExistingOutput { get; init; } = ExistingOutput.Refuse;

    /// <summary>
    /// Run only this shard's inputs (by <see cref="IO.Sharding.ShardKeys"/>), with shard.json and shard-inputs.tsv in
    /// <see cref="Output"/> for <see cref="ShardMerge"/>; an output folder holding the same shard of the same run is resumed.
    /// Null = all inputs.
    /// </summary>
    public IO.Sharding.ShardSpec? Shard { get; init; }

    /// <summary>
    /// Write report.html in <see cref="Output"/> (a gallery sorted by score, the score histogram, the failed inputs) and
    /// its thumbnails in report_files/; false = neither (the CLI's <c>--no-report</c>). See docs/reports.md.
    /// </summary>
    public bool Report { get; init; } = true;
}

/// <summary>How a <see cref="BatchInference"/> job ended.</summary>
/// <param name="Method">The method that ran.</param>
/// <param name="Inputs">Image inputs of the job.</param>
/// <param name="Succeeded">Inputs with a result (this run and resumed ones).</param>
/// <param name="Failures">Inputs that failed (this run and resumed ones), each with its one-line error.</param>
/// <param name="Resumed">Inputs skipped because an earlier run finished them.</param>
/// <param name="Processed">Inputs this run finished (succeeded or failed).</param>
/// <param name="Flagged">Successful inputs above the threshold.</param>
/// <param name="Unsupported">Files in input folders whose extension is not an image format, in ordinal order.</param>
/// <param name="Interrupted">True when the job stopped on cancellation before every input was finished.</param>
/// <param name="Elapsed">Wall time of this run's inference.</param>
/// <param name="ResultsPath">results.json.</param>
/// <param name="ImageSize">The input size the job ran at.</param>
public sealed record BatchInferenceOutcome(string Method, int ImageSize, int Inputs, int Succeeded, IReadOnlyList<FailedInput> Failures, int Resumed, int Processed,
    int Flagged, IReadOnlyList<string> Unsupported, bool Interrupted, TimeSpan Elapsed, string ResultsPath)
{
    /// <summary>report.html, or null when <see cref="BatchInferenceOptions.Report"/> was off.</summary>
    public string? ReportPath { get; init; }
}

/// <summary>An input of a batch job that failed, with its one-line error (also the error of a resumed run's record).</summary>
/// <param name="Path">The input file.</param>
/// <param name="Error">Why it failed, one line.</param>
public sealed record FailedInput(string Path, string Error);
