// CPU embedding lookup: parallel row copies forward, ordered scatter-add backward (deterministic).
using System.Numerics.Tensors;

namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void EmbeddingForward(Tensor weight, Tensor ids, Tensor output)
    {
        var d = weight.Shape[1];
        var ws = Cpu(weight);
        var wa = ws.Floats;
        var wo = (int)weight.Offset;
        var widen = weight.DType != DType.F32;
        var (oa, oo) = DenseArray(output);
        var ia = Cpu(ids).Ints;
        var io = (int)ids.Offset;
        var count = (int)ids.Numel;
        CpuParallel.ForRange(count, (start, end) =>
        {
            for (var i = start; i < end; i++)
            {
                var src = wo + (long)ia[io + i] * d;
                if (!widen)
                {
                    wa.AsSpan((int)src, d).CopyTo(oa.AsSpan(oo + i * d, d));
                    continue;
                }
                // F16/BF16 tables are widened row by row, so a lookup never converts the whole vocabulary.
                for (var j = 0; j < d; j++)
                {
                    oa[oo + i * d + j] = ReadF32(ws, src + j);
                }
            }
        }, minChunk: RowsPerChunk(d, 16384));
    }

    /// <inheritdoc/>
    public void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gWeight)
    {
        var d = gWeight.Shape[1];
        var (ga, go) = DenseArray(gy);
        var (wa, wo) = DenseArray(gWeight);
        var ia = Cpu(ids).Ints;
        var io = (int)ids.Offset;
        var count = (int)ids.Numel;
        // Sequential in token order: repeated ids add up in a fixed order, so results are bit-reproducible.
        for (var i = 0; i < count; i++)
        {
            var row = wa.AsSpan(wo + ia[io + i] * d, d);
            TensorPrimitives.Add(row, ga.AsSpan(go + i * d, d), row);
        }
    }
}
