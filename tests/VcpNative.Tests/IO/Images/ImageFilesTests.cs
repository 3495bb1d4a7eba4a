// Folder expansion takes every extension the decoder reads, and the dataset readers use the same one list.
using VcpNative.Anomaly.Datasets;
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO.Images;

public class ImageFilesTests
{
    [Fact]
    public void FolderWithTiffWebPAndGifIsExpanded()
    {
        string dir = Directory.CreateTempSubdirectory("vcp-imagefiles-").FullName;
        try
        {
            string[] images = ["a.tif", "b.TIFF", "c.webp", "d.gif", "e.png", "sub/f.jpg"];
            foreach (var f in images.Append("notes.txt"))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, f))!);
                File.WriteAllBytes(Path.Combine(dir, f), []);
            }
            var missing = new List<string>();
            var unsupported = new List<string>();
            var found = ImageFiles.Expand([dir], missing, unsupported, null);
            Assert.Equal(images.Select(f => Path.Combine(dir, f)).Order(StringComparer.Ordinal), found);
            Assert.Equal([Path.Combine(dir, "notes.txt")], unsupported);
            Assert.Empty(missing);
            // The dataset readers list a folder by the same extensions.
            Assert.Equal(["a.tif", "b.TIFF", "c.webp", "d.gif", "e.png"], DatasetFiles.Images(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EveryFormatHasOneRegistryLine()
    {
        Assert.Equal(Enum.GetValues<ImageFormat>(), ImageCodecs.All.Select(c => c.Format));
        Assert.Equal(ImageCodecs.All.SelectMany(c => c.Extensions), ImageFiles.Extensions);
    }

    [Fact]
    public void DatasetFilesUsesTheOneList()
    {
        foreach (var ext in ImageFiles.Extensions)
            Assert.True(DatasetFiles.IsImage("x" + ext.ToUpperInvariant()), ext);
        Assert.False(DatasetFiles.IsImage("x.txt"));
    }
}
