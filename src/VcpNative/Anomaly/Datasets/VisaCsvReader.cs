// Reads VisA in its original layout through split_csv/1cls.csv (columns object,split,label,image,mask; paths relative to the root).
namespace VcpNative.Anomaly.Datasets;

internal static class VisaCsvReader
{
    public const string CsvRelativePath = "split_csv/1cls.csv";

    public static List<DatasetSample> Read(string root, DatasetSplit split)
    {
        string csv = Path.Combine(root, CsvRelativePath);
        if (!File.Exists(csv))
        {
            throw new DatasetException($"VisA layout needs '{csv}', which does not exist");
        }

        string[] lines = File.ReadAllLines(csv);
        if (lines.Length == 0)
        {
            throw new DatasetException($"'{csv}' is empty; expected the header object,split,label,image,mask");
        }

        string[] header = lines[0].Trim().Split(',');
        int obj = Column(header, "object", csv), spl = Column(header, "split", csv), lab = Column(header, "label", csv);
        int img = Column(header, "image", csv), msk = Column(header, "mask", csv);
        string wanted = split == DatasetSplit.Train ? "train" : "test";
        var samples = new List<DatasetSample>();
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            string[] f = line.Split(',');
            if (f.Length < header.Length)
            {
                throw new DatasetException($"'{csv}' line {i + 1}: expected {header.Length} columns, found {f.Length}");
            }

            if (f[spl] != wanted)
            {
                continue;
            }

            bool anomalous = f[lab] == "anomaly";
            string image = DatasetFiles.RequireFile(Path.Combine(root, f[img]), csv);
            string? mask = anomalous && f[msk].Length > 0 ? DatasetFiles.RequireFile(Path.Combine(root, f[msk]), csv) : null;
            samples.Add(new DatasetSample(f[obj], image, mask, anomalous, anomalous ? "anomaly" : "good", split));
        }

        return samples;
    }

    private static int Column(string[] header, string name, string csv)
    {
        int i = Array.IndexOf(header, name);
        return i >= 0 ? i : throw new DatasetException($"'{csv}' has no column '{name}'; header is '{string.Join(',', header)}'");
    }
}
