// Per-class min-max normalisation of anomaly maps or image scores, in float32 as numpy does it on float32 arrays.
using System.Numerics.Tensors;

namespace VcpNative.Anomaly.Metrics;

/// <summary>Per-class min-max normalisation in float32, as the authors' normalize().</summary>
public static class MinMaxNormalization
{
    /// <summary>
    /// values = (values - min) / (max - min), computed in float32 like the authors' normalize(); all zeros when max == min.
    /// Pass the whole class stack (all images of one category) to match upstream.
    /// </summary>
    public static void NormalizeInPlace(Span<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        float min = TensorPrimitives.Min(values);
        float max = TensorPrimitives.Max(values);
        float range = max - min;
        if (range == 0f)
        {
            values.Clear();
            return;
        }

        TensorPrimitives.Subtract(values, min, values);
        TensorPrimitives.Divide(values, range, values);
    }
}
