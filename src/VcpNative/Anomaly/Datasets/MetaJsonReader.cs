// Reads AnomalyCLIP-style meta.json indexes (also the authors' meta_<dataset>.json of the mvisa layout).
using System.Text.Json;

namespace VcpNative.Anomaly.Datasets;

/// <summary>
/// <c>{"train": {...}, "test": {"&lt;class&gt;": [{"img_path","mask_path","cls_name","specie_name","anomaly"}]}}</c>, paths relative
/// to the root. An empty mask_path, or one naming a directory (medical image-level sets), means an all-zero mask, as in ViP2-CLIP.
/// </summary>
internal static class MetaJsonReader
{
    public static List<DatasetSample> Read(string root, string metaFile, DatasetSplit split)
    {
        string path = Path.Combine(root, metaFile);
        if (!File.Exists(path))
        {
            throw new DatasetException($"meta index '{path}' does not exist");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DatasetException($"'{path}' is not valid JSON: {e.Message.Split('\n')[0]}");
        }

        using (doc)
        {
            string splitName = split == DatasetSplit.Train ? "train" : "test";
            if (!doc.RootElement.TryGetProperty(splitName, out JsonElement classes) || classes.ValueKind != JsonValueKind.Object)
            {
                throw new DatasetException($"'{path}' has no \"{splitName}\" object");
            }

            var samples = new List<DatasetSample>();
            foreach (JsonProperty cls in classes.EnumerateObject())
            {
                // JsonElement throws InvalidOperationException on a kind mismatch; a hostile index gets one line instead.
                if (cls.Value.ValueKind != JsonValueKind.Array)
                {
                    throw new DatasetException($"'{path}' {splitName}.{cls.Name}: expected an array of samples, found {cls.Value.ValueKind}");
                }

                int index = 0;
                foreach (JsonElement e in cls.Value.EnumerateArray())
                {
                    string where = $"'{path}' {splitName}.{cls.Name}[{index++}]";
                    if (e.ValueKind != JsonValueKind.Object)
                    {
                        throw new DatasetException($"{where}: expected a sample object, found {e.ValueKind}");
                    }

                    string image = DatasetFiles.RequireFile(Path.Combine(root, Text(e, "img_path", where)), path);
                    string maskRel = e.TryGetProperty("mask_path", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
                    bool anomalous = e.TryGetProperty("anomaly", out JsonElement a) && a.ValueKind == JsonValueKind.Number && a.TryGetInt64(out long flag) ? flag != 0
                        : throw new DatasetException($"{where}: missing integer \"anomaly\"");
                    string? mask = null;
                    if (anomalous && maskRel.Length > 0)
                    {
                        string maskPath = Path.Combine(root, maskRel);
                        mask = Directory.Exists(maskPath) ? null : DatasetFiles.RequireFile(maskPath, path);
                    }

                    string className = e.TryGetProperty("cls_name", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : cls.Name;
                    string defect = e.TryGetProperty("specie_name", out JsonElement s) && s.ValueKind == JsonValueKind.String && s.GetString()!.Length > 0
                        ? s.GetString()! : anomalous ? "anomaly" : "good";
                    samples.Add(new DatasetSample(className, image, mask, anomalous, defect, split));
                }
            }

            return samples;
        }
    }

    private static string Text(JsonElement e, string name, string where) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new DatasetException($"{where}: missing string \"{name}\"");
}
