// `vcp-native info FILE`: a weight file described from its index and metadata.
using VcpNative.Cli;
using Xunit;

namespace VcpNative.Tests.Cli;

public class InfoCommandTests
{
    private static (int Code, string Out, string Err) Info(string path)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var code = CliApp.Run(["info", path], o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void DescribesClipWeightsHeadsAndTrainingMetadata()
    {
        var clip = Info(Fixtures.Path("clip", "tiny_clip.pt"));
        Assert.Equal(0, clip.Code);
        Assert.Contains("format      PyTorch zip (torch.save)", clip.Out);
        Assert.Contains("holds       CLIP weights", clip.Out);
        Assert.Contains("vision 128 wide x 4 layers, 2 heads, patch 14", clip.Out);
        Assert.Contains("tensors     86 ", clip.Out);

        using var temp = new TempDirectory("info");
        var head = Path.Combine(temp.Path, "trained.safetensors");
        HeadFiles.Rewrite(Fixtures.Path("vip2", "vip2_head.pth"), head, new Dictionary<string, string> { ["method"] = "vip2", ["train.image_size"] = "224", ["train.step"] = "40" });
        var trained = Info(head);
        Assert.Equal(0, trained.Code);
        Assert.Contains("format      safetensors", trained.Out);
        Assert.Contains("holds       ViP2-CLIP heads (method vip2)", trained.Out);
        Assert.Contains("image_size 224", trained.Out);
        Assert.Contains("step 40", trained.Out);
        Assert.DoesNotContain("clip        ", trained.Out);
    }

    [Fact]
    public void AFileThatIsNoWeightFileIsOneLineAndAMissingOneAUsageError()
    {
        using var temp = new TempDirectory("info");
        var junk = Path.Combine(temp.Path, "junk.safetensors");
        File.WriteAllBytes(junk, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var bad = Info(junk);
        Assert.Equal(ExitCodes.Failure, bad.Code);
        Assert.Single(bad.Err.TrimEnd().Split('\n'));
        Assert.Contains("junk.safetensors", bad.Err);
        var missing = Info(Path.Combine(temp.Path, "nope.pt"));
        Assert.Equal(ExitCodes.Usage, missing.Code);
        Assert.Contains("nope.pt: no such file", missing.Err);
    }
}
