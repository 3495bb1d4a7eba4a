// Dataset readers on small trees created in a temp folder: layouts, detection, order, masks, class filtering and error messages.
using VcpNative.Anomaly.Datasets;
using Xunit;

namespace VcpNative.Tests.Anomaly.Datasets;

public sealed class DatasetReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new("datasets");

    private string Root => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private string Touch(string relative)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0]);
        return path;
    }

    private void MakeMvtec()
    {
        foreach (string cls in new[] { "screw", "bottle" })
        {
            Touch($"{cls}/train/good/000.png");
            Touch($"{cls}/test/good/001.png");
            Touch($"{cls}/test/good/000.png");
            Touch($"{cls}/test/scratch/000.png");
            Touch($"{cls}/ground_truth/scratch/000_mask.png");
            Touch($"{cls}/test/broken_large/003.png");
            Touch($"{cls}/ground_truth/broken_large/003_mask.png");
        }

        Touch("license.txt");
    }

    [Fact]
    public void MvtecIsDetectedAndReadInOrdinalOrder()
    {
        MakeMvtec();
        Assert.Equal(DatasetLayout.MvtecAd, DatasetReader.Detect(Root));
        IReadOnlyList<DatasetSample> s = DatasetReader.Read(Root);
        Assert.Equal(8, s.Count);
        string[] expected =
        [
            "bottle/broken_large/003.png", "bottle/good/000.png", "bottle/good/001.png", "bottle/scratch/000.png",
            "screw/broken_large/003.png", "screw/good/000.png", "screw/good/001.png", "screw/scratch/000.png",
        ];
        Assert.Equal(expected, s.Select(x => $"{x.ClassName}/{Path.GetFileName(Path.GetDirectoryName(x.ImagePath))}/{Path.GetFileName(x.ImagePath)}"));
        DatasetSample scratch = s[3];
        Assert.True(scratch.IsAnomalous);
        Assert.Equal("scratch", scratch.DefectType);
        Assert.Equal(Path.Combine(Root, "bottle", "ground_truth", "scratch", "000_mask.png"), scratch.MaskPath);
        Assert.Null(s[1].MaskPath);
        Assert.False(s[1].IsAnomalous);
        Assert.Equal("good", s[1].DefectType);
        Assert.All(s, x => Assert.Equal(DatasetSplit.Test, x.Split));
    }

    [Fact]
    public void TrainSplitAndClassFilter()
    {
        MakeMvtec();
        IReadOnlyList<DatasetSample> train = DatasetReader.Read(Root, DatasetLayout.Mpdd, DatasetSplit.Train, DatasetReader.ParseClassList(" screw ,"));
        DatasetSample only = Assert.Single(train);
        Assert.Equal("screw", only.ClassName);
        Assert.Equal(DatasetSplit.Train, only.Split);

        var e = Assert.Throws<DatasetException>(() => DatasetReader.Read(Root, classes: ["cable"]));
        Assert.Contains("'cable'", e.Message, StringComparison.Ordinal);
        Assert.Contains("bottle,screw", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingMaskNamesTheImage()
    {
        MakeMvtec();
        File.Delete(Path.Combine(Root, "screw/ground_truth/scratch/000_mask.png"));
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Read(Root));
        Assert.Contains(Path.Combine("screw", "test", "scratch", "000.png"), e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void MissingRootAndUnknownLayoutAreClearErrors()
    {
        var missing = Assert.Throws<DatasetException>(() => DatasetReader.Read(Path.Combine(Root, "nope")));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        Touch("random/file.txt");
        var unknown = Assert.Throws<DatasetException>(() => DatasetReader.Read(Root));
        Assert.Contains("cannot tell the layout", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VisaCsv()
    {
        Touch("candle/Data/Images/Normal/0000.JPG");
        Touch("candle/Data/Images/Anomaly/0001.JPG");
        Touch("candle/Data/Masks/Anomaly/0001.png");
        Touch("candle/Data/Images/Normal/0002.JPG");
        Directory.CreateDirectory(Path.Combine(Root, "split_csv"));
        File.WriteAllLines(Path.Combine(Root, "split_csv/1cls.csv"),
        [
            "object,split,label,image,mask",
            "candle,test,normal,candle/Data/Images/Normal/0000.JPG,",
            "candle,test,anomaly,candle/Data/Images/Anomaly/0001.JPG,candle/Data/Masks/Anomaly/0001.png",
            "candle,train,normal,candle/Data/Images/Normal/0002.JPG,",
        ]);
        Assert.Equal(DatasetLayout.Visa, DatasetReader.Detect(Root));
        IReadOnlyList<DatasetSample> s = DatasetReader.Read(Root);
        Assert.Equal(2, s.Count);
        Assert.Equal("anomaly", s[0].DefectType);
        Assert.Equal(Path.Combine(Root, "candle/Data/Masks/Anomaly/0001.png"), s[0].MaskPath);
        Assert.Null(s[1].MaskPath);
        Assert.Single(DatasetReader.Read(Root, split: DatasetSplit.Train));

        File.Delete(Path.Combine(Root, "candle/Data/Images/Anomaly/0001.JPG"));
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Read(Root));
        Assert.Contains("0001.JPG", e.Message, StringComparison.Ordinal);
        Assert.Contains("1cls.csv", e.Message, StringComparison.Ordinal);
    }

    private const string MetaJson = """
        {"train": {}, "test": {
          "brain": [
            {"img_path": "brain/test/good/a.png", "mask_path": "", "cls_name": "brain", "specie_name": "good", "anomaly": 0},
            {"img_path": "brain/test/tumor/b.png", "mask_path": "brain/ground_truth/tumor", "cls_name": "brain", "specie_name": "tumor", "anomaly": 1}],
          "colon": [
            {"img_path": "colon/test/polyp/c.png", "mask_path": "colon/ground_truth/polyp/c.png", "cls_name": "colon", "specie_name": "polyp", "anomaly": 1},
            {"img_path": "colon/test/polyp/d.png", "mask_path": "", "cls_name": "colon", "specie_name": "", "anomaly": 1}]}}
        """;

    private void MakeMeta(string fileName)
    {
        Touch("brain/test/good/a.png");
        Touch("brain/test/tumor/b.png");
        Directory.CreateDirectory(Path.Combine(Root, "brain/ground_truth/tumor"));
        Touch("colon/test/polyp/c.png");
        Touch("colon/test/polyp/d.png");
        Touch("colon/ground_truth/polyp/c.png");
        File.WriteAllText(Path.Combine(Root, fileName), MetaJson);
    }

    [Fact]
    public void MetaJsonDirectoryOrEmptyMaskMeansZeroMask()
    {
        MakeMeta("meta.json");
        Assert.Equal(DatasetLayout.MetaJson, DatasetReader.Detect(Root));
        IReadOnlyList<DatasetSample> s = DatasetReader.Read(Root);
        Assert.Equal(4, s.Count);
        Assert.Equal(["good", "tumor", "anomaly", "polyp"], s.Select(x => x.DefectType));
        Assert.Null(s[1].MaskPath); // directory -> zero mask
        Assert.True(s[1].IsAnomalous);
        Assert.Null(s[2].MaskPath); // empty -> zero mask
        Assert.Equal(Path.Combine(Root, "colon/ground_truth/polyp/c.png"), s[3].MaskPath);
    }

    [Fact]
    public void MvisaIndexIsDetectedAndMissingListedFileIsNamed()
    {
        MakeMeta("meta_mvtec.json");
        Assert.Equal(DatasetLayout.Mvisa, DatasetReader.Detect(Root));
        Assert.Equal(4, DatasetReader.Read(Root).Count);
        File.Delete(Path.Combine(Root, "colon/test/polyp/d.png"));
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Read(Root));
        Assert.Contains("d.png", e.Message, StringComparison.Ordinal);
        Assert.Contains("meta_mvtec.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MvisaFolderMasksUseImageStem()
    {
        Touch("pcb1/test/good/000.bmp");
        Touch("pcb1/test/anomaly/001.bmp");
        Touch("pcb1/ground_truth/anomaly/001.png");
        IReadOnlyList<DatasetSample> s = DatasetReader.Read(Root, DatasetLayout.Mvisa);
        Assert.Equal(Path.Combine(Root, "pcb1/ground_truth/anomaly/001.png"), s[0].MaskPath);
    }

    [Fact]
    public void Btad()
    {
        Touch("01/train/ok/0000.bmp");
        Touch("01/test/ok/0001.bmp");
        Touch("01/test/ko/0002.bmp");
        Touch("01/ground_truth/ko/0002.png");
        Touch("03/test/ko/0005.bmp");
        Touch("03/ground_truth/ko/0005.bmp");
        Assert.Equal(DatasetLayout.Btad, DatasetReader.Detect(Root));
        IReadOnlyList<DatasetSample> s = DatasetReader.Read(Root);
        Assert.Equal(3, s.Count);
        Assert.Equal("good", s[0].DefectType); // "good" < "ko" ordinally
        Assert.Null(s[0].MaskPath);
        Assert.Equal(Path.Combine(Root, "01/ground_truth/ko/0002.png"), s[1].MaskPath);
        Assert.Equal("ko", s[1].DefectType);
        Assert.Equal(Path.Combine(Root, "03/ground_truth/ko/0005.bmp"), s[2].MaskPath);
    }

    [Fact]
    public void PlainFolderWithAndWithoutClassLevel()
    {
        Touch("widget/good/a.png");
        Touch("widget/dent/b.png");
        Touch("widget/ground_truth/dent/b_mask.png");
        Touch("widget/dent/c.jpg");
        Touch("widget/notes.txt");
        Assert.Equal(DatasetLayout.Folder, DatasetReader.Detect(Root));
        IReadOnlyList<DatasetSample> s = DatasetReader.Read(Root);
        Assert.Equal(3, s.Count);
        Assert.Equal(Path.Combine(Root, "widget/ground_truth/dent/b_mask.png"), s[0].MaskPath);
        Assert.Null(s[1].MaskPath); // anomalous without a mask file: image-level only

        IReadOnlyList<DatasetSample> single = DatasetReader.Read(Path.Combine(Root, "widget"));
        Assert.Equal(3, single.Count);
        Assert.All(single, x => Assert.Equal("widget", x.ClassName));
    }
}
