// Ground-truth mask transform: Pillow bilinear resize of the 'L' mask, ToTensor (/255), then the > 0.5 binarisation.
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Preprocessing;

/// <summary>Ground-truth masks resized to the model input and binarised.</summary>
public static class MaskPreprocess
{
    /// <summary>float[size*size] of 0/1, row-major. Matches Resize((size,size)) (torchvision's default BILINEAR on
    /// a PIL image) then (ToTensor(mask) > 0.5).</summary>
    public static float[] ToBinaryMask(GreyImage mask, int size)
    {
        GreyImage resized = mask.Width == size && mask.Height == size ? mask : PillowResize.Resize(mask, size, size, PillowFilter.Bilinear);
        var output = new float[size * size];
        ReadOnlySpan<byte> px = resized.Pixels;
        for (int i = 0; i < output.Length; i++)
            output[i] = px[i] / 255f > 0.5f ? 1f : 0f; // float32 as torch computes it: 128 is the first value above 0.5
        return output;
    }
}
