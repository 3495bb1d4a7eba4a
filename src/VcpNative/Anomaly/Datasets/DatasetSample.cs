// One image of an anomaly-detection dataset with its ground truth, as every reader returns it.
namespace VcpNative.Anomaly.Datasets;

/// <summary>Which part of a dataset to read.</summary>
public enum DatasetSplit
{
    /// <summary>Normal images used for training.</summary>
    Train,
    /// <summary>Normal and anomalous images with ground truth, for evaluation.</summary>
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
    /// <summary>Detect the layout from the files under the root.</summary>
    Auto,
    /// <summary>MVTec AD: &lt;class&gt;/{train,test}/&lt;defect&gt;/ with ground_truth masks.</summary>
    MvtecAd,
    /// <summary>VisA, read through its split CSV.</summary>
    Visa,
    /// <summary>The authors' mvisa layout (index meta_&lt;dataset&gt;.json, or a class/test/defect tree).</summary>
    Mvisa,
    /// <summary>BTAD (BeanTech).</summary>
    Btad,
    /// <summary>MPDD (MVTec-like tree).</summary>
    Mpdd,
    /// <summary>Any dataset listed in an AnomalyCLIP-style meta.json.</summary>
    MetaJson,
    /// <summary>A plain folder of images without ground truth.</summary>
    Folder,
}

/// <summary>A dataset that cannot be read: missing root, unknown layout, a listed file that does not exist, a bad index file.</summary>
public sealed class DatasetException(string message) : Exception(message);
