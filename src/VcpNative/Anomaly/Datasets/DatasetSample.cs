// One image of an anomaly-detection dataset with its ground truth, as every reader returns it.
namespace VcpNative.Anomaly.Datasets;

public enum DatasetSplit
{
    Train,
    Test,
}

/// <summary>
/// A dataset image. <see cref="MaskPath"/> is null when the ground truth is an all-zero mask (normal images, and anomalous
/// images of image-level-only sets). <see cref="DefectType"/> is "good" for normal images.
/// </summary>
public sealed record DatasetSample(string ClassName, string ImagePath, string? MaskPath, bool IsAnomalous, string DefectType, DatasetSplit Split);

/// <summary>Dataset on-disk layouts the readers understand.</summary>
public enum DatasetLayout
{
    Auto,
    MvtecAd,
    Visa,
    Mvisa,
    Btad,
    Mpdd,
    MetaJson,
    Folder,
}

/// <summary>A dataset that cannot be read: missing root, unknown layout, a listed file that does not exist, a bad index file.</summary>
public sealed class DatasetException(string message) : Exception(message);
