// `vcp-native convert clip|vcp`: canonical files that load to the same model, refusals for wrong inputs.
using System.Text.Json;
using VcpNative.Cli;
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.Cli;

public class ConvertCommandTests
{
    [Fact]
    public void ConvertedFilesGiveTheSameInferenceResultsAsTheOriginals()
    {
        using var temp = new TempDirectory("convert");
        var dir = temp.Path;
        var clip = Path.Combine(dir, "clip.safetensors");
        var head = Path.Combine(dir, "vcp.safetensors");
        Assert.Equal(0, CliApp.Run(["convert", "clip", Fixtures.Path("clip", "tiny_clip.pt"), "-o", clip], new StringWriter(), new StringWriter()));
        Assert.Equal(0, CliApp.Run(["convert", "vcp", Fixtures.Path("vcp", "vcp_head.pth"), "-o", head], new StringWriter(), new StringWriter()));

        using (var converted = WeightLoader.LoadVerbatim(clip))
        {
            Assert.Equal("vcp-native/clip", converted.Metadata["format"]);
            using var config = JsonDocument.Parse(converted.Metadata["config"]);
            Assert.Equal(128, config.RootElement.GetProperty("VisionWidth").GetInt32());
            Assert.Equal(24, config.RootElement.GetProperty("NativeGrid").GetInt32());
        }
        using (var heads = WeightLoader.LoadVerbatim(head))
        {
            Assert.True(heads.Contains("trainable_linearlayer.fc.3.bias"));
            Assert.True(heads.Contains("Zero_try.prompt_temp_l1"));
            Assert.True(heads.Contains("New_Lan_Embed.prompt_linear1.fc.weight"));
        }

        var image = Path.Combine(dir, "img");
        Directory.CreateDirectory(image);
        File.Copy(Fixtures.Path("vcp", "input.png"), Path.Combine(image, "input.png"));
        var a = Path.Combine(dir, "a");
        var b = Path.Combine(dir, "b");
        Assert.Equal(0, CliApp.Run(["infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"), "--image-size", "112", "--save-maps", "-o", a, image], new StringWriter(), new StringWriter()));
        Assert.Equal(0, CliApp.Run(["infer", "--clip", clip, "--head", head, "--image-size", "112", "--save-maps", "-o", b, image], new StringWriter(), new StringWriter()));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "maps", "input.npy")), File.ReadAllBytes(Path.Combine(b, "maps", "input.npy")));
    }

    [Fact]
    public void ConvertVcpRefusesAFileThatIsNotAVcpCheckpoint()
    {
        var err = new StringWriter();
        using var temp = new TempDirectory("convert");
        var code = CliApp.Run(["convert", "vcp", Fixtures.Path("weights", "mixed.pt"), "-o", Path.Combine(temp.Path, "x.safetensors")], new StringWriter(), err);
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("mixed.pt", err.ToString());
        Assert.Contains("not a VCP-CLIP checkpoint", err.ToString());
    }

    [Fact]
    public void ConvertClipRefusesAFileThatIsNotClip()
    {
        var err = new StringWriter();
        using var temp = new TempDirectory("convert");
        var code = CliApp.Run(["convert", "clip", Fixtures.Path("vcp", "vcp_head.pth"), "-o", Path.Combine(temp.Path, "x.safetensors")], new StringWriter(), err);
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("visual.conv1.weight", err.ToString());
    }
}
