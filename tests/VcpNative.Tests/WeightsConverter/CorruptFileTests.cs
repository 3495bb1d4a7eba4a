// Truncated and corrupted files must fail with ModelFormatException naming the file and a byte offset, never another exception.
using System.IO.Compression;
using System.Text;
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.WeightsConverter;

public class CorruptFileTests
{
    private static ModelFormatException AssertRefused(string path)
    {
        var e = Assert.Throws<ModelFormatException>(() =>
        {
            using var set = WeightLoader.Load(path);
            // Reading every tensor, in case some check were deferred to first access.
            foreach (var t in set.Tensors) t.ToFloat32();
        });
        Assert.Equal(path, e.File);
        Assert.NotNull(e.Offset);
        Assert.StartsWith(Path.GetFileName(path) + ": offset ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Theory]
    [InlineData("mixed.safetensors")]
    [InlineData("mixed.pt")]
    [InlineData("clip_tiny_f16.pt")]
    [InlineData("clip_tiny_torchscript.pt")]
    [InlineData("clip_tiny_f32.safetensors")]
    public void TruncatedFilesAreRefused(string file)
    {
        var bytes = File.ReadAllBytes(WeightFixtures.PathOf(file));
        // Every byte of the first and last 64 (headers, zip end records), ~300 spread points in between.
        var cuts = new SortedSet<int>();
        for (var cut = 0; cut < bytes.Length; cut += Math.Max(1, bytes.Length / 300)) cuts.Add(cut);
        for (var k = 0; k < 64; k++)
        {
            cuts.Add(Math.Min(k, bytes.Length - 1));
            cuts.Add(Math.Max(0, bytes.Length - 1 - k));
        }
        var path = WeightFixtures.TempCopy([], file);
        foreach (var cut in cuts)
        {
            File.WriteAllBytes(path, bytes[..cut]);
            AssertRefused(path);
        }
    }

    [Fact]
    public void TruncatedPickleInsideIntactZipIsRefusedWithPickleOffset()
    {
        // Rebuilt with System.IO.Compression (an independent zip writer), data.pkl cut in half.
        var path = RewriteZip("mixed.pt", "cut_pickle.pt", CompressionLevel.NoCompression, (name, bytes) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? bytes[..(bytes.Length / 2)] : bytes);
        var e = AssertRefused(path);
        Assert.Contains("data.pkl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StorageShorterThanDeclaredIsRefusedNamingSizes()
    {
        var path = RewriteZip("mixed.pt", "short_storage.pt", CompressionLevel.Optimal, (name, bytes) => name.EndsWith("/data/0", StringComparison.Ordinal) ? bytes[..^4] : bytes);
        var e = AssertRefused(path);
        Assert.Contains("storage '0'", e.Message, StringComparison.Ordinal);
        Assert.Contains("(file truncated?)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeflatedArchiveStillReads()
    {
        // Some tools recompress checkpoints; deflated entries are inflated lazily instead of mapped.
        var path = RewriteZip("mixed.pt", "deflated.pt", CompressionLevel.Optimal, (_, bytes) => bytes);
        using var expected = WeightLoader.Load(WeightFixtures.PathOf("mixed.pt"));
        using var actual = WeightLoader.Load(path);
        Assert.Equal(expected.Names, actual.Names);
        foreach (var t in expected.Tensors) Assert.Equal(t.ToFloat32(), actual[t.Name].ToFloat32());
    }

    /// <summary>Copies a fixture zip entry by entry through System.IO.Compression, letting a test edit entry bytes.</summary>
    private static string RewriteZip(string file, string name, CompressionLevel level, Func<string, byte[], byte[]> edit)
    {
        var path = WeightFixtures.TempCopy([], name);
        File.Delete(path);
        using var source = ZipFile.OpenRead(WeightFixtures.PathOf(file));
        using var target = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var entry in source.Entries)
        {
            using var input = entry.Open();
            var data = new MemoryStream();
            input.CopyTo(data);
            using var output = target.CreateEntry(entry.FullName, level).Open();
            output.Write(edit(entry.FullName, data.ToArray()));
        }
        return path;
    }

    private static string Safetensors(string headerJson, int dataBytes, ulong? declaredLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + dataBytes];
        BitConverter.GetBytes(declaredLength ?? (ulong)header.Length).CopyTo(bytes, 0);
        header.CopyTo(bytes, 8);
        return WeightFixtures.TempCopy(bytes, "bad.safetensors");
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, 1_000_000UL, "header length 1000000")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]""", 8, null, "not valid JSON")]
    [InlineData("""{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2, null, "unsupported dtype 'F8_E4M3'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, null, "needs 12 bytes, data_offsets give 8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, null, "overlaps tensor 'a'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8, null, "outside the 8-byte data section")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, null, "non-negative integers")]
    [InlineData("""{"__metadata__":{"k":1}}""", 0, null, "must be a string")]
    public void CorruptSafetensorsHeaderIsRefused(string header, int dataBytes, ulong? declaredLength, string detail)
    {
        var e = AssertRefused(Safetensors(header, dataBytes, declaredLength));
        Assert.Contains(detail, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TensorErrorsNameTheTensor()
    {
        var e = AssertRefused(Safetensors("""{"visual.proj":{"dtype":"F16","shape":[4,4],"data_offsets":[0,30]}}""", 30));
        Assert.Equal("visual.proj", e.TensorName);
        Assert.Contains("tensor 'visual.proj': shape [4, 4] of F16 needs 32 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownFormatIsRefused()
    {
        var e = AssertRefused(WeightFixtures.TempCopy(Encoding.ASCII.GetBytes("hello, not weights"), "x.bin"));
        Assert.Contains("unrecognised weight format", e.Message, StringComparison.Ordinal);
    }
}
