// Reads MVTec-AD-style trees (MVTec AD, MPDD, BTAD, the authors' mvisa folders): <class>/<split>/<defect>/<image>, masks under ground_truth/.
namespace VcpNative.Anomaly.Datasets;

/// <summary>
/// One reader for the MVTec family; the variants differ only in the name of the normal folder and how a mask file is named
/// from the image stem: MVTec AD / MPDD <c>ground_truth/&lt;defect&gt;/&lt;stem&gt;_mask.png</c>; BTAD normal = "ok",
/// masks <c>ground_truth/ko/&lt;stem&gt;.png|.bmp</c>; mvisa masks <c>ground_truth/&lt;defect&gt;/&lt;stem&gt;.png</c>.
/// </summary>
internal sealed class MvtecLayoutReader(string normalFolder, string[] maskSuffixes)
{
    public static readonly MvtecLayoutReader Mvtec = new("good", ["_mask.png"]);
    public static readonly MvtecLayoutReader Btad = new("ok", [".png", ".bmp"]);
    public static readonly MvtecLayoutReader Mvisa = new("good", [".png", "_mask.png"]);

    public List<DatasetSample> Read(string root, DatasetSplit split)
    {
        var samples = new List<DatasetSample>();
        string splitName = split == DatasetSplit.Train ? "train" : "test";
        foreach (string classDir in DatasetFiles.SubDirectories(root))
        {
            string splitDir = Path.Combine(classDir, splitName);
            if (!Directory.Exists(splitDir))
            {
                continue;
            }

            string className = Path.GetFileName(classDir);
            foreach (string defectDir in DatasetFiles.SubDirectories(splitDir))
            {
                string defect = Path.GetFileName(defectDir);
                bool anomalous = defect != normalFolder;
                foreach (string image in DatasetFiles.Images(defectDir))
                {
                    string? mask = null;
                    if (anomalous)
                    {
                        string maskDir = Path.Combine(classDir, "ground_truth", defect);
                        mask = DatasetFiles.FirstExisting(maskDir, Path.GetFileNameWithoutExtension(image), maskSuffixes)
                            ?? throw new DatasetException($"no ground-truth mask for '{image}': expected {string.Join(" or ", maskSuffixes.Select(s => Path.Combine(maskDir, Path.GetFileNameWithoutExtension(image) + s)))}");
                    }

                    samples.Add(new DatasetSample(className, image, mask, anomalous, anomalous ? defect : "good", split));
                }
            }
        }

        return samples;
    }

    /// <summary>True when some class folder has <c>test/&lt;normal folder&gt;</c>.</summary>
    public bool Matches(string root) =>
        DatasetFiles.SubDirectories(root).Any(c => Directory.Exists(Path.Combine(c, "test", normalFolder)));
}
