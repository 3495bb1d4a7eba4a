// Entry point for reading an anomaly dataset: layout detection, the per-layout readers, class filtering and deterministic order.
namespace VcpNative.Anomaly.Datasets;

/// <summary>
/// Reads a dataset into <see cref="DatasetSample"/>s sorted ordinally by class, then defect type, then file name.
/// The authors' "mvisa" layout (spec 2.6) is read through its index <c>meta_&lt;dataset&gt;.json</c> (same schema as AnomalyCLIP's
/// meta.json; paths relative to the mvisa data root); without an index, a <c>&lt;class&gt;/test/&lt;defect&gt;</c> tree with masks
/// <c>ground_truth/&lt;defect&gt;/&lt;stem&gt;.png</c> (their re-saved .bmp images with binarised .png masks) is read instead.
/// That folder convention is inferred from their loader (combine_img), not from make_dataset_new.py, which we have not seen.
/// </summary>
public static class DatasetReader
{
    /// <summary>Reads the <paramref name="split"/> of the dataset at <paramref name="root"/> (layout detected when Auto), optionally only <paramref name="classes"/>; <paramref name="metaFileName"/> overrides the index file name of index-based layouts.</summary>
    public static IReadOnlyList<DatasetSample> Read(
        string root,
        DatasetLayout layout = DatasetLayout.Auto,
        DatasetSplit split = DatasetSplit.Test,
        IReadOnlyCollection<string>? classes = null,
        string? metaFileName = null)
    {
        if (!Directory.Exists(root))
        {
            throw new DatasetException($"dataset root '{root}' does not exist");
        }

        if (layout == DatasetLayout.Auto)
        {
            layout = Detect(root);
        }

        List<DatasetSample> samples = layout switch
        {
            DatasetLayout.MvtecAd or DatasetLayout.Mpdd => MvtecLayoutReader.Mvtec.Read(root, split),
            DatasetLayout.Btad => MvtecLayoutReader.Btad.Read(root, split),
            DatasetLayout.Visa => VisaCsvReader.Read(root, split),
            DatasetLayout.MetaJson => MetaJsonReader.Read(root, metaFileName ?? "meta.json", split),
            DatasetLayout.Mvisa => (metaFileName ?? FindMvisaIndex(root)) is string meta
                ? MetaJsonReader.Read(root, meta, split)
                : MvtecLayoutReader.Mvisa.Read(root, split),
            DatasetLayout.Folder => split == DatasetSplit.Test ? PlainFolderReader.Read(root)
                : throw new DatasetException($"a plain folder dataset ('{root}') has only a test split"),
            _ => throw new DatasetException($"unknown dataset layout {layout}"),
        };

        if (classes is { Count: > 0 })
        {
            var present = new HashSet<string>(samples.Select(s => s.ClassName), StringComparer.Ordinal);
            foreach (string c in classes)
            {
                if (!present.Contains(c))
                {
                    throw new DatasetException($"class '{c}' is not in '{root}' ({layout}); available: {string.Join(",", present.Order(StringComparer.Ordinal))}");
                }
            }

            var wanted = new HashSet<string>(classes, StringComparer.Ordinal);
            samples = samples.Where(s => wanted.Contains(s.ClassName)).ToList();
        }

        samples.Sort(CompareSamples);
        return samples;
    }

    /// <summary>Picks the layout from marker files; throws <see cref="DatasetException"/> when none matches.</summary>
    public static DatasetLayout Detect(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new DatasetException($"dataset root '{root}' does not exist");
        }

        if (File.Exists(Path.Combine(root, VisaCsvReader.CsvRelativePath)))
        {
            return DatasetLayout.Visa;
        }

        if (FindMvisaIndex(root) is not null)
        {
            return DatasetLayout.Mvisa;
        }

        if (File.Exists(Path.Combine(root, "meta.json")))
        {
            return DatasetLayout.MetaJson;
        }

        if (MvtecLayoutReader.Btad.Matches(root))
        {
            return DatasetLayout.Btad;
        }

        if (MvtecLayoutReader.Mvtec.Matches(root))
        {
            return DatasetLayout.MvtecAd;
        }

        if (PlainFolderReader.Matches(root))
        {
            return DatasetLayout.Folder;
        }

        throw new DatasetException($"cannot tell the layout of '{root}': expected split_csv/1cls.csv (VisA), meta.json or meta_<name>.json, <class>/test/good (MVTec AD, MPDD), <class>/test/ok (BTAD), or <class>/good (plain folder)");
    }

    /// <summary>Parses a --classes value "a,b" (blanks dropped); null or empty means all classes.</summary>
    public static IReadOnlyList<string> ParseClassList(string? commaSeparated) =>
        string.IsNullOrWhiteSpace(commaSeparated)
            ? []
            : commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? FindMvisaIndex(string root)
    {
        string[] metas = Directory.GetFiles(root, "meta_*.json");
        Array.Sort(metas, StringComparer.Ordinal);
        return metas.Length switch
        {
            0 => null,
            1 => Path.GetFileName(metas[0]),
            _ => throw new DatasetException($"'{root}' holds several indexes ({string.Join(", ", metas.Select(Path.GetFileName))}); name one"),
        };
    }

    private static int CompareSamples(DatasetSample a, DatasetSample b)
    {
        int c = string.CompareOrdinal(a.ClassName, b.ClassName);
        if (c == 0)
        {
            c = string.CompareOrdinal(a.DefectType, b.DefectType);
        }

        if (c == 0)
        {
            c = string.CompareOrdinal(Path.GetFileName(a.ImagePath), Path.GetFileName(b.ImagePath));
        }

        return c == 0 ? string.CompareOrdinal(a.ImagePath, b.ImagePath) : c;
    }
}
