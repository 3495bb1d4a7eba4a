// Shared setup of the training tests: the tiny CLIP with the golden heads, and the fixture batch at 112 px.
using VcpNative.Anomaly.Inference;
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Tests.Anomaly.Training;

internal static class TrainingFixtures
{
    /// <summary>Image size of tools/golden/make_vcp_train_fixtures.py (grid 8 from the native 24).</summary>
    public const int Size = 112;

    /// <summary>The tiny CLIP (exact GELU) with the initial heads of the golden step (authors' .pth format).</summary>
    public static VcpModel LoadModel(string? heads = null) =>
        VcpModel.Load(Fixtures.Path("clip", "tiny_clip.pt"), heads ?? Fixtures.Path("vcp", "vcp_head.pth"));

    /// <summary>Images [2, 3, 112, 112] and masks [2, 112, 112] (image 0 has defects, image 1 none).</summary>
    public static (Tensor Images, Tensor Masks) Batch(WeightSet step) =>
        (Tensor.FromArray(step["images"].ToFloat32(), [2, 3, Size, Size]), Tensor.FromArray(step["masks"].ToFloat32(), [2, Size, Size]));

    public static double Norm(ReadOnlySpan<float> a)
    {
        double s = 0;
        foreach (var v in a)
        {
            s += (double)v * v;
        }
        return Math.Sqrt(s);
    }

    public static double DiffNorm(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = (double)a[i] - b[i];
            s += d * d;
        }
        return Math.Sqrt(s);
    }
}
