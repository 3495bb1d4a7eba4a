// Any error of one input (not only decode errors) is that input's failure; the loop goes on with the others.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.IO.Images;
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Anomaly.Inference;

public class ImageInferenceLoopFailureTests
{
    /// <summary>An input whose decoding hits a bug (the malformed-BMP IndexOutOfRangeException of issue 20).</summary>
    private sealed class BuggyInput() : ImageInput("buggy.bmp")
    {
        public override PixelImage Decode(ImageSizeLimits limits) => throw new IndexOutOfRangeException("Index was outside the bounds of the array.");
    }

    [Fact]
    public void AnExceptionOfAnyTypeInOneInputIsReportedAsItsFailureAndTheOthersFinish()
    {
        using var model = AnomalyModelLoader.Load(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth"), 112);
        var good = new RgbImage(30, 30);
        new Random(1).NextBytes(good.Pixels);
        ImageInput[] inputs = [ImageInput.FromImage(good, "a"), new BuggyInput(), ImageInput.FromImage(good, "b"), ImageInput.FromImage(good, "c")];
        var done = new List<string>();
        var failed = new List<(string, Exception)>();
        new ImageInferenceLoop(model.Inference, CpuBackendOf(), batchSize: 2).Run(inputs, (item, _) => done.Add(item.Input.Name), (input, e) => failed.Add((input.Name, e)));
        Assert.Equal(["a", "b", "c"], done);
        var (name, error) = Assert.Single(failed);
        Assert.Equal("buggy.bmp", name);
        Assert.IsType<IndexOutOfRangeException>(error);
    }

    private static IBackend CpuBackendOf() => DeviceBackends.Create("cpu");
}
