// What an evaluation (one head) or a comparison (several heads) runs on and where it writes.
using System.Diagnostics.CodeAnalysis;
using VcpNative.Anomaly.Datasets;

namespace VcpNative;

/// <summary>What every dataset run reads and where it writes: CLIP, the dataset's test split, sizes, the output folder.</summary>
public record DatasetRunOptions
{
    /// <summary>CLIP weights; each method builds its CLIP variant from them.</summary>
    public required string Clip { get; init; }

    /// <summary>Dataset root.</summary>
    public required string Root { get; init; }

    /// <summary>Layout of <see cref="Root"/>.</summary>
    public DatasetLayout Layout { get; init; } = DatasetLayout.Auto;

    /// <summary>Comma-separated classes; null = all.</summary>
    public string? Classes { get; init; }

    /// <summary>Square input size in pixels.</summary>
    public int ImageSize { get; init; } = 518;

    /// <summary>Images per forward pass.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Output folder.</summary>
    public required string Output { get; init; }

    /// <summary>Also write report.html (curves, histograms, worst-scored images; thumbnails in report_files/) to <see cref="Output"/>.</summary>
    public bool WriteReport { get; init; } = true;
}

/// <summary>Options of <see cref="Evaluator.Run"/>: one head file over a labelled dataset's test split; writes results.json, results.csv and metrics.* to <see cref="DatasetRunOptions.Output"/>.</summary>
public sealed record EvaluatorOptions : DatasetRunOptions
{
    /// <summary>Options to be set member by member.</summary>
    public EvaluatorOptions()
    {
    }

    /// <summary>The CLIP, dataset, sizes and output of <paramref name="common"/>, evaluating <paramref name="head"/>.</summary>
    /// <param name="common">What every dataset run reads and where it writes.</param>
    /// <param name="head">Head file.</param>
    [SetsRequiredMembers]
    public EvaluatorOptions(DatasetRunOptions common, string head)
        : base(common)
    {
        Head = head;
    }

    /// <summary>Head file (VCP-CLIP or ViP2-CLIP, ours or the authors').</summary>
    public required string Head { get; init; }

    /// <summary>Method name; null = detected from the head file.</summary>
    public string? Method { get; init; }

    /// <summary>
    /// Arithmetic of the image tower's transformer-block linear layers: fp32 (default), or int8 on the CPU
    /// (<see cref="Tensors.LinearCompute.Int8"/>; another backend refuses it).
    /// </summary>
    public Tensors.LinearCompute Compute { get; init; } = Tensors.LinearCompute.Fp32;

    /// <summary>Write maps/&lt;stem&gt;.npy before per-class normalisation.</summary>
    public bool SaveMaps { get; init; }

    /// <summary>
    /// Score only this shard's test images (by <see cref="IO.Sharding.ShardKeys"/> of the path relative to the root) and
    /// keep raw maps and scores for <see cref="ShardMerge"/>, which computes the metrics; null = the whole evaluation.
    /// </summary>
    public IO.Sharding.ShardSpec? Shard { get; init; }
}

/// <summary>
/// Options of <see cref="Evaluator.Compare"/>: several heads on one dataset, each evaluated as <see cref="Evaluator.Run"/>
/// does into <see cref="DatasetRunOptions.Output"/>/&lt;n&gt;-&lt;method&gt;, with compare.md and compare.json beside them.
/// </summary>
public sealed record ComparisonOptions : DatasetRunOptions
{
    /// <summary>Options to be set member by member.</summary>
    public ComparisonOptions()
    {
    }

    /// <summary>The CLIP, dataset, sizes and output of <paramref name="common"/>, comparing <paramref name="heads"/>.</summary>
    /// <param name="common">What every dataset run reads and where it writes.</param>
    /// <param name="heads">Two or more head files.</param>
    [SetsRequiredMembers]
    public ComparisonOptions(DatasetRunOptions common, IReadOnlyList<string> heads)
        : base(common)
    {
        Heads = heads;
    }

    /// <summary>Two or more head files; the method is detected per file.</summary>
    public required IReadOnlyList<string> Heads { get; init; }

    /// <summary>Also list every class's metrics per head in compare.md.</summary>
    public bool PerClass { get; init; }
}
