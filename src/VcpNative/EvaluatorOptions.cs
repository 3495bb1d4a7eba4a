// What an evaluation (one head) or a comparison (several heads) runs on and where it writes.
using VcpNative.Anomaly.Datasets;

namespace VcpNative;

/// <summary>Options of <see cref="Evaluator.Run"/>: one head file over a labelled dataset's test split.</summary>
public sealed record EvaluatorOptions
{
    /// <summary>CLIP weights; the method builds its CLIP variant from them.</summary>
    public required string Clip { get; init; }

    /// <summary>Head file (VCP-CLIP or ViP2-CLIP, ours or the authors').</summary>
    public required string Head { get; init; }

    /// <summary>Method name; null = detected from the head file.</summary>
    public string? Method { get; init; }

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

    /// <summary>Write maps/&lt;stem&gt;.npy before per-class normalisation.</summary>
    public bool SaveMaps { get; init; }

    /// <summary>Output folder (results.json, results.csv, metrics.*).</summary>
    public required string Output { get; init; }
}

/// <summary>Options of <see cref="Evaluator.Compare"/>: several heads on one dataset, each evaluated as <see cref="Evaluator.Run"/> does.</summary>
public sealed record ComparisonOptions
{
    /// <summary>CLIP weights; each method builds its CLIP variant from them.</summary>
    public required string Clip { get; init; }

    /// <summary>Two or more head files; the method is detected per file.</summary>
    public required IReadOnlyList<string> Heads { get; init; }

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

    /// <summary>Also list every class's metrics per head in compare.md.</summary>
    public bool PerClass { get; init; }

    /// <summary>Output folder: compare.md, compare.json and one eval folder per head (&lt;n&gt;-&lt;method&gt;).</summary>
    public required string Output { get; init; }
}
