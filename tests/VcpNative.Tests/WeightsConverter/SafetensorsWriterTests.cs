// The safetensors writer: round trip through the reader, deterministic bytes, and strided inputs.
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Safetensors;
using Xunit;

namespace VcpNative.Tests.WeightsConverter;

public class SafetensorsWriterTests
{
    [Theory]
    [InlineData("mixed.pt")]
    [InlineData("mixed.safetensors")]
    [InlineData("clip_tiny_torchscript.pt")]
    [InlineData("clip_tiny_hf_f32.safetensors")]
    public void RewriteRoundTripsAndIsByteIdentical(string file)
    {
        using var original = WeightLoader.Load(WeightFixtures.PathOf(file));
        var first = WeightFixtures.TempCopy([], "first.safetensors");
        var second = Path.Combine(Path.GetDirectoryName(first)!, "second.safetensors");
        SafetensorsWriter.Write(first, original);
        using (var reread = SafetensorsReader.Read(first))
        {
            Assert.Equal(original.Names.Order(StringComparer.Ordinal), reread.Names);
            foreach (var t in original.Tensors)
            {
                var r = reread[t.Name];
                Assert.Equal(t.DType, r.DType);
                Assert.Equal(t.Shape, r.Shape);
                Assert.True(t.RawBytes.SequenceEqual(r.RawBytes), $"{t.Name}: bytes differ after round trip");
            }
            Assert.Equal(original.Metadata.OrderBy(kv => kv.Key), reread.Metadata.OrderBy(kv => kv.Key));
            SafetensorsWriter.Write(second, reread);
        }
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        // The data section is 8-byte aligned: header padded with spaces.
        var headerLength = BitConverter.ToUInt64(File.ReadAllBytes(first), 0);
        Assert.Equal(0UL, headerLength % 8);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(first)!, "*.tmp"));
    }

    [Fact]
    public void WriteFromTuplesRejectsSizeMismatchAndLeavesNoFile()
    {
        var path = WeightFixtures.TempCopy([], "x.safetensors");
        File.Delete(path);
        var ex = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [("w", WeightDType.F32, new long[] { 3 }, new byte[8])]));
        Assert.Contains("needs 12 bytes", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void WriteFromTuplesMatchesIndependentLayout()
    {
        var path = WeightFixtures.TempCopy([], "y.safetensors");
        var b = new byte[] { 0, 0, 128, 63, 0, 0, 0, 64 }; // 1.0f, 2.0f
        SafetensorsWriter.Write(path, [("b", WeightDType.F32, new long[] { 2 }, b), ("a", WeightDType.U8, new long[] { 1, 1 }, new byte[] { 7 })],
            new Dictionary<string, string> { ["format"] = "pt" });
        var bytes = File.ReadAllBytes(path);
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, n);
        // Names sorted, metadata first, offsets contiguous, padding with spaces (format description at huggingface/safetensors).
        Assert.Equal("""{"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[1,1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}""", header.TrimEnd(' '));
        Assert.Equal(new byte[] { 7, 0, 0, 128, 63, 0, 0, 0, 64 }, bytes[(8 + n)..]);
    }
}
