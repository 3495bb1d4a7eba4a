// Size and count settings of the synthetic anomaly dataset; defaults keep generation well under two seconds.
namespace VcpNative.Anomaly.Synthetic;

/// <summary>Size and count settings of <see cref="SyntheticDataset.Generate"/>.</summary>
public sealed record SyntheticOptions
{
    /// <summary>Side of the square images, in pixels.</summary>
    public int ImageSize { get; init; } = 128;

    /// <summary>Normal training images per class.</summary>
    public int TrainGoodPerClass { get; init; } = 4;

    /// <summary>Normal test images per class.</summary>
    public int TestGoodPerClass { get; init; } = 3;

    /// <summary>Anomalous test images per class and defect type.</summary>
    public int TestImagesPerDefect { get; init; } = 2;

    /// <summary>Subset of <see cref="SyntheticDataset.ClassNames"/>; null = all classes.</summary>
    public IReadOnlyList<string>? Classes { get; init; }
}

/// <summary>What <see cref="SyntheticDataset.Generate"/> wrote.</summary>
public sealed record SyntheticSummary(IReadOnlyList<string> Classes, int TrainImages, int TestGoodImages, int TestDefectImages);
