// Reads a plain folder: <class>/good/, <class>/<defect>/ with optional <class>/ground_truth/<defect>/<stem>_mask.png, or the same without the class level.
namespace VcpNative.Anomaly.Datasets;

/// <summary>Anomalous images without a mask file get a null mask (image-level ground truth only). Always the test split.</summary>
internal static class PlainFolderReader
{
    public static List<DatasetSample> Read(string root)
    {
        var samples = new List<DatasetSample>();
        if (Directory.Exists(Path.Combine(root, "good")))
        {
            ReadClass(root, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root))), samples);
            return samples;
        }

        foreach (string classDir in DatasetFiles.SubDirectories(root))
        {
            ReadClass(classDir, Path.GetFileName(classDir), samples);
        }

        return samples;
    }

    private static void ReadClass(string classDir, string className, List<DatasetSample> samples)
    {
        foreach (string defectDir in DatasetFiles.SubDirectories(classDir))
        {
            string defect = Path.GetFileName(defectDir);
            if (defect == "ground_truth")
            {
                continue;
            }

            bool anomalous = defect != "good";
            foreach (string image in DatasetFiles.Images(defectDir))
            {
                string? mask = anomalous
                    ? DatasetFiles.FirstExisting(Path.Combine(classDir, "ground_truth", defect), Path.GetFileNameWithoutExtension(image), "_mask.png", ".png")
                    : null;
                samples.Add(new DatasetSample(className, image, mask, anomalous, anomalous ? defect : "good", DatasetSplit.Test));
            }
        }
    }

    public static bool Matches(string root) =>
        Directory.Exists(Path.Combine(root, "good")) || DatasetFiles.SubDirectories(root).Any(c => Directory.Exists(Path.Combine(c, "good")));
}
