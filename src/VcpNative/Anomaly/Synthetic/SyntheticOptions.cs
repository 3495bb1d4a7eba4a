// Size and count settings of the synthetic anomaly dataset; defaults keep generation well under two seconds.
namespace VcpNative.Anomaly.Synthetic;

public sealed record SyntheticOptions
{
    public int ImageSize { get; init; } = 128;

    public int TrainGoodPerClass { get; init; } = 4;

    public int TestGoodPerClass { get; init; } = 3;

    public int TestImagesPerDefect { get; init; } = 2;

    /// <summary>Subset of <see cref="SyntheticDataset.ClassNames"/>; null = all classes.</summary>
    public IReadOnlyList<string>? Classes { get; init; }
}

/// <summary>What <see cref="SyntheticDataset.Generate"/> wrote.</summary>
public sealed record SyntheticSummary(IReadOnlyList<string> Classes, int TrainImages, int TestGoodImages, int TestDefectImages);
