// Re-encodes the linear weights of a weight set as bf16 or int8 + scales, the rest untouched, for `convert --weights-format`.
using System.Runtime.InteropServices;

namespace VcpNative.WeightsConverter.Quantization;

public static class WeightSetCompression
{
    /// <summary>
    /// A new in-memory set: every 2-D floating tensor for which <paramref name="isLinearWeight"/> is true is encoded in
    /// <paramref name="format"/> (int8 adds its <c>.int8_scale</c> tensor), everything else is kept as is; the metadata
    /// gets <see cref="LinearWeightFormats.MetadataKey"/>. The source set must stay alive while the result is used.
    /// </summary>
    public static WeightSet Compress(WeightSet set, LinearWeightFormat format, Func<string, bool> isLinearWeight,
        IReadOnlyDictionary<string, string> metadata)
    {
        var tensors = new List<WeightTensor>(set.Count);
        foreach (var t in set.Tensors)
        {
            if (format == LinearWeightFormat.F32 || t.Shape.Length != 2 || !WeightDTypeInfo.IsFloatingPoint(t.DType) || !isLinearWeight(t.Name))
            {
                tensors.Add(t);
                continue;
            }
            var values = t.ToFloat32();
            if (format == LinearWeightFormat.BF16)
            {
                var bits = new ushort[values.Length];
                WeightQuantization.ToBFloat16(values, bits);
                tensors.Add(WeightTensor.FromBytes(t.Name, WeightDType.BF16, t.Shape, MemoryMarshal.AsBytes(bits.AsSpan()).ToArray()));
                continue;
            }
            var rows = checked((int)t.Shape[0]);
            var cols = checked((int)t.Shape[1]);
            var q = new sbyte[values.Length];
            var scales = new float[rows];
            for (var r = 0; r < rows; r++)
            {
                scales[r] = WeightQuantization.QuantizeInt8Row(values.AsSpan(r * cols, cols), q.AsSpan(r * cols, cols));
            }
            tensors.Add(WeightTensor.FromBytes(t.Name, WeightDType.I8, t.Shape, MemoryMarshal.AsBytes(q.AsSpan()).ToArray()));
            tensors.Add(WeightTensor.FromFloat32(LinearWeightFormats.ScaleName(t.Name), [rows], scales));
        }
        var meta = new Dictionary<string, string>(metadata) { [LinearWeightFormats.MetadataKey] = LinearWeightFormats.Name(format) };
        return new WeightSet(tensors, meta);
    }
}
