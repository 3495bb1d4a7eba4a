// Embedding lookup (token ids to rows of a table) with an optional scatter-add gradient for the table.
using VcpNative.Tensors.Autograd;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// weight [V, D] gathered at integer <paramref name="ids"/> (I32 or I64, any shape) gives [..ids.shape, D].
    /// An id outside [0, V) throws <see cref="ArgumentOutOfRangeException"/> naming the id, its flat index and V.
    /// The table gets a (deterministic, scatter-added) gradient only when it requires one.
    /// </summary>
    public static Tensor Embedding(Tensor weight, Tensor ids)
    {
        if (weight.Rank != 2)
        {
            throw new ShapeMismatchException("embedding", weight.Shape, ids.Shape, "weight must be [V, D]; weight vs ids");
        }
        if (ids.DType is not (DType.I32 or DType.I64))
        {
            throw new ShapeMismatchException("embedding", $"ids {Shapes.Format(ids.Shape)} must be i32 or i64, got {DTypes.Name(ids.DType)}");
        }
        var (vocab, d) = (weight.Shape[0], weight.Shape[1]);
        var idsDense = ids;
        if (ids.DType != DType.I32 || !ids.IsContiguous)
        {
            idsDense = Tensor.Empty(ids.Shape, DType.I32, ids.Backend);
            ids.Backend.Copy(ids, idsDense);
        }
        CheckIdsInRange(idsDense, vocab);
        var outShape = new int[ids.Rank + 1];
        ids.Shape.CopyTo(outShape);
        outShape[^1] = d;
        var result = Tensor.Empty(outShape, DType.F32, weight.Backend);
        var wd = weight.IsContiguous && DTypes.IsFloat(weight.DType) ? weight : weight.ToContiguousF32();
        weight.Backend.EmbeddingForward(wd, idsDense, result);
        DisposeUnless(wd, weight);
        if (Tape.ShouldRecord(weight))
        {
            Tape.Record(result, "embedding", [weight, ids], g =>
            {
                var gy = ContiguousF32Input(g);
                var gw = Tensor.Zeros([vocab, d], DType.F32, weight.Backend);
                weight.Backend.EmbeddingBackward(idsDense, gy, gw);
                DisposeUnless(gy, g);
                return [gw, null];
            }, idsDense);
        }
        DisposeUnless(idsDense, ids);
        return result;
    }

    private static void CheckIdsInRange(Tensor ids, int vocab)
    {
        // Ids are host data in every pipeline (tokenizer output); a device-resident ids tensor is checked by its kernel.
        if (ids.Storage is not CpuStorage cpu)
        {
            return;
        }
        var span = cpu.Ints.AsSpan((int)ids.Offset, (int)ids.Numel);
        for (var i = 0; i < span.Length; i++)
        {
            if ((uint)span[i] >= (uint)vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), $"op 'embedding': id {span[i]} at flat index {i} of ids {Shapes.Format(ids.Shape)} is outside the table of V={vocab} rows");
            }
        }
    }
}
