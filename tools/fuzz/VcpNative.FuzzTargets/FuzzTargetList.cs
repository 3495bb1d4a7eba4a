// The registry of harness targets: one per reader of files from strangers. Adding a reader = one entry here plus a
// seed corpus in tools/fuzz/corpus/<name>/.
using System.IO.Compression;
using VcpNative.Anomaly.Datasets;
using VcpNative.IO.Images;
using VcpNative.IO.Results;
using VcpNative.WeightsConverter;

namespace VcpNative.FuzzTargets;

/// <summary>Every harness target, by name.</summary>
public static class FuzzTargetList
{
    private static readonly ImageSizeLimits Limits = new(FuzzBounds.MaxImageSide, FuzzBounds.MaxImagePixels);

    /// <summary>The targets, in the order the docs list them.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        Image("png"), Image("jpeg"), Image("bmp"), Image("tiff"), Image("webp"), Image("gif"),
        Weights("safetensors", "SafetensorsReader through WeightLoader.Load"),
        new("pickle", "RestrictedUnpickler: the input is data.pkl of a stored torch.save zip, read by WeightLoader.Load",
            input => ReadWeights(TorchZipAround(input)), [typeof(ModelFormatException)], WeightBound),
        Weights("torchzip", "StoredZipArchive + TorchArchiveReader (torch.save) through WeightLoader.Load"),
        Weights("torchscript", "TorchScript archive (constants.pkl, code/) through WeightLoader.Load"),
        new("threshold", "ThresholdFile.Load (threshold.json)",
            input => ThresholdFile.Load(ScratchFolder.Write("threshold.json", input)), [typeof(InvalidDataException)], TextBound),
        new("metajson", "DatasetReader.Read, layout MetaJson (meta.json)",
            input => ReadDataset("meta.json", input, DatasetLayout.MetaJson), [typeof(DatasetException)], TextBound),
        new("visacsv", "DatasetReader.Read, layout Visa (split_csv/1cls.csv)",
            input => ReadDataset("split_csv/1cls.csv", input, DatasetLayout.Visa), [typeof(DatasetException)], TextBound),
    ];

    /// <summary>The target called <paramref name="name"/>, or an exception listing the names.</summary>
    public static FuzzTarget Find(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"no fuzz target '{name}'; targets are {string.Join(", ", All.Select(t => t.Name))}");

    /// <summary>An image target: ReadHeader then Decode through ImageDecoder, the product's entry point, whatever
    /// format the bytes turn out to be (the name only picks the seed corpus).</summary>
    private static FuzzTarget Image(string name) => new(name, "ImageDecoder.ReadHeader + ImageDecoder.Decode",
        input =>
        {
            ImageDecoder.ReadHeader(input, name);
            ImageDecoder.Decode(input, name, Limits);
        },
        [typeof(ImageDecodeException)], ImageBound);

    /// <summary>16 MiB, plus 8 copies of the file, plus 16 bytes per declared pixel (16-bit RGBA rows and an RGB
    /// result); an input whose header cannot be read declares no pixels.</summary>
    private static long ImageBound(byte[] input)
    {
        long pixels = 0;
        try
        {
            var header = ImageDecoder.ReadHeader(input, "bound");
            // A header may report a negative size (a TIFF width above int.MaxValue); Decode refuses it, the bound ignores it.
            pixels = Math.Clamp((long)Math.Max(header.Width, 0) * Math.Max(header.Height, 0), 0, FuzzBounds.MaxImagePixels);
        }
        catch (ImageDecodeException)
        {
        }
        return (16L << 20) + (8L * input.Length) + (16 * pixels);
    }

    /// <summary>Weight files are memory-mapped; tensors are views. 32 MiB plus 16 bytes per file byte covers the
    /// unpickled tree and every tensor converted to float32 (at most 4 bytes per stored byte, 8 for a strided copy).</summary>
    private static long WeightBound(byte[] input) => (32L << 20) + (16L * input.Length);

    /// <summary>Text indexes are parsed whole: 8 MiB plus 32 bytes per input byte (UTF-16 text, DOM, split lines).</summary>
    private static long TextBound(byte[] input) => (8L << 20) + (32L * input.Length);

    private static FuzzTarget Weights(string name, string reader) =>
        new(name, reader, ReadWeights, [typeof(ModelFormatException)], WeightBound);

    /// <summary>Loads the weights as `convert` and the model loaders do, then converts every tensor to float32 (what
    /// a model does with each), so data offsets and strides are exercised, not only headers.</summary>
    private static void ReadWeights(byte[] input)
    {
        using var set = WeightLoader.Load(ScratchFolder.Write("weights.bin", input));
        foreach (var tensor in set.Tensors)
        {
            _ = tensor.ToFloat32();
        }
    }

    /// <summary>A torch.save-shaped stored zip whose archive/data.pkl is <paramref name="pickle"/> and whose
    /// archive/data/0 .. archive/data/9 hold 256 bytes each, so the seeds' persistent ids resolve.</summary>
    public static byte[] TorchZipAround(byte[] pickle)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "archive/data.pkl", pickle);
            Add(zip, "archive/byteorder", "little"u8.ToArray());
            for (int key = 0; key < 10; key++)
            {
                Add(zip, $"archive/data/{key}", new byte[256]);
            }
        }
        return buffer.ToArray();

        static void Add(ZipArchive zip, string name, byte[] bytes)
        {
            using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            stream.Write(bytes);
        }
    }

    /// <summary>A dataset root holding the index and the image files the seeds name (good.png, bad.png, bad_mask.png).</summary>
    private static void ReadDataset(string index, byte[] input, DatasetLayout layout)
    {
        ScratchFolder.Write(index, input);
        foreach (string file in (string[])["good.png", "bad.png", "bad_mask.png"])
        {
            if (!File.Exists(Path.Combine(ScratchFolder.Path, file)))
            {
                ScratchFolder.Write(file, []);
            }
        }
        DatasetReader.Read(ScratchFolder.Path, layout, DatasetSplit.Test);
    }
}
