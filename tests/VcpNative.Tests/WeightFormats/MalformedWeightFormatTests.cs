// Broken int8 / bf16 files: one-line ModelFormatException naming the file and tensor, expected vs found.
using VcpNative.Cli;
using VcpNative.Models;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Quantization;
using VcpNative.WeightsConverter.Safetensors;
using Xunit;

namespace VcpNative.Tests.WeightFormats;

public class MalformedWeightFormatTests
{
    private const string Weight = "visual.transformer.resblocks.0.mlp.c_fc.weight";
    private const string Scale = Weight + ".int8_scale";

    /// <summary>The tiny int8 file rewritten with <paramref name="edit"/> applied to its tensor list (and metadata).</summary>
    private static string Rewrite(TempDirectory temp, Action<List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>, Dictionary<string, string>> edit)
    {
        var int8 = ConvertedWeightFormatTests.Convert(temp.Path, "int8");
        var entries = new List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>();
        Dictionary<string, string> metadata;
        using (var set = WeightLoader.LoadVerbatim(int8))
        {
            metadata = new Dictionary<string, string>(set.Metadata);
            foreach (var t in set.Tensors)
            {
                entries.Add((t.Name, t.DType, t.Shape, t.RawBytes.ToArray()));
            }
        }
        edit(entries, metadata);
        var path = Path.Combine(temp.Path, "broken.safetensors");
        SafetensorsWriter.Write(path, entries, metadata);
        return path;
    }

    private static ModelFormatException LoadFails(string path)
    {
        var e = Assert.Throws<ModelFormatException>(() => ParameterSet.Load(path).Dispose());
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("broken.safetensors", e.Message);
        return e;
    }

    [Fact]
    public void Int8WeightWithoutItsScale()
    {
        using var temp = new TempDirectory("wformat");
        var path = Rewrite(temp, (e, _) => e.RemoveAll(t => t.Item1 == Scale));
        var e = LoadFails(path);
        Assert.Equal(Weight, e.TensorName);
        Assert.Contains($"expected F32 tensor '{Scale}' [512], found none", e.Message);
    }

    [Fact]
    public void ScaleOfTheWrongLength()
    {
        using var temp = new TempDirectory("wformat");
        var path = Rewrite(temp, (e, _) =>
        {
            var i = e.FindIndex(t => t.Item1 == Scale);
            e[i] = (Scale, WeightDType.F32, [511], new byte[511 * 4]);
        });
        var e = LoadFails(path);
        Assert.Equal(Scale, e.TensorName);
        Assert.Contains("expected F32 [512], found F32 [511]", e.Message);
    }

    [Fact]
    public void ScaleWithoutAnInt8Weight()
    {
        using var temp = new TempDirectory("wformat");
        var path = Rewrite(temp, (e, _) => e.Add(("visual.ln_post.weight.int8_scale", WeightDType.F32, [128], new byte[128 * 4])));
        var e = LoadFails(path);
        Assert.Equal("visual.ln_post.weight.int8_scale", e.TensorName);
        Assert.Contains("expected I8 tensor 'visual.ln_post.weight'", e.Message);
    }

    [Fact]
    public void NegativeOrNonFiniteScale()
    {
        using var temp = new TempDirectory("wformat");
        var path = Rewrite(temp, (e, _) =>
        {
            var i = e.FindIndex(t => t.Item1 == Scale);
            var bytes = e[i].Item4.ToArray();
            BitConverter.GetBytes(float.NaN).CopyTo(bytes, 4 * 3);
            e[i] = (Scale, WeightDType.F32, [512], bytes);
        });
        var e = LoadFails(path);
        Assert.Contains("found NaN at row 3", e.Message);
    }

    [Fact]
    public void UnknownFormatNameInTheMetadata()
    {
        using var temp = new TempDirectory("wformat");
        var path = Rewrite(temp, (_, m) => m[LinearWeightFormats.MetadataKey] = "int4");
        var e = LoadFails(path);
        Assert.Contains("expected f32, bf16 or int8, found 'int4'", e.Message);
    }

    [Fact]
    public void InferReportsTheBrokenFileInOneLine()
    {
        using var temp = new TempDirectory("wformat");
        var path = Rewrite(temp, (e, _) => e.RemoveAll(t => t.Item1 == Scale));
        var images = Path.Combine(temp.Path, "img");
        Directory.CreateDirectory(images);
        File.Copy(Fixtures.Path("vcp", "input.png"), Path.Combine(images, "input.png"));
        var err = new StringWriter();
        var code = CliApp.Run(["infer", "--clip", path, "--head", Fixtures.Path("vcp", "vcp_head.pth"), "--image-size", "56", "-o", Path.Combine(temp.Path, "out"), images], new StringWriter(), err);
        Assert.Equal(ExitCodes.Failure, code);
        var lines = err.ToString().Trim().Split('\n');
        Assert.Single(lines);
        Assert.Contains("broken.safetensors", lines[0]);
        Assert.Contains(Weight, lines[0]);
    }
}
