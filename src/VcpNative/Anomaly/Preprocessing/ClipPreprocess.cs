// CLIP test-time image transform: Pillow bicubic resize to a square, ToTensor (/255), Normalize with CLIP's mean/std.
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Preprocessing;

/// <summary>OpenAI CLIP's image preprocessing (resize, ToTensor, Normalize) in C#.</summary>
public static class ClipPreprocess
{
    /// <summary>OpenAI CLIP's per-channel statistics, as float32 tensors in torchvision.</summary>
    public static ReadOnlySpan<float> Mean => [0.48145466f, 0.4578275f, 0.40821073f];
    /// <summary>Per-channel standard deviations of the normalisation, RGB.</summary>
    public static ReadOnlySpan<float> Std => [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Resize((size,size), BICUBIC) then ToTensor and Normalize: float[3*size*size], CHW. The aspect ratio is
    /// not kept (the reference squashes). Arithmetic is float32 in torchvision's order: (v / 255 - mean) / std.</summary>
    public static float[] ToTensorData(RgbImage image, int size)
    {
        var output = new float[3 * size * size];
        ToTensorData(image, size, output);
        return output;
    }

    /// <summary>As the overload returning an array, into <paramref name="output"/> of exactly 3*size*size floats.</summary>
    public static void ToTensorData(RgbImage image, int size, Span<float> output)
    {
        if (output.Length != 3 * size * size)
            throw new ArgumentException($"output holds {output.Length} floats, expected 3x{size}x{size}", nameof(output));
        RgbImage resized = image.Width == size && image.Height == size ? image : PillowResize.Resize(image, size, size, PillowFilter.Bicubic);
        ReadOnlySpan<byte> px = resized.Pixels;
        int plane = size * size;
        for (int c = 0; c < 3; c++)
        {
            float mean = Mean[c], std = Std[c];
            Span<float> dst = output.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++)
                dst[i] = (px[3 * i + c] / 255f - mean) / std;
        }
    }
}
