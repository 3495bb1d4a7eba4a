// The frozen image tower's outputs that the heads read (training, the feature cache, ViP2-CLIP inference), computed once and reusable.
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Features;

/// <summary>
/// The per-layer tokens the heads read and the global feature of a batch: for VCP-CLIP raw block outputs
/// ([B, 1 + g^2, Wv]) and ln_post(cls) @ proj; for ViP2-CLIP ln_post(block) @ proj ([B, 1 + g^2, E]) and
/// normalize(cls @ proj) (see Vip2Model.ComputeFeatures). They carry no tape history: the image tower is frozen.
/// </summary>
public sealed class ImageFeatures : IDisposable
{
    /// <summary>Takes ownership of the per-layer outputs and the global feature of the same batch.</summary>
    public ImageFeatures(IReadOnlyList<Tensor> blockOutputs, Tensor global)
    {
        if (blockOutputs.Count == 0 || global.Rank != 2)
        {
            throw new ShapeMismatchException("vcp_features", global.Shape, [-1, -1], "need block outputs and a global embedding [B, E]");
        }
        foreach (var t in blockOutputs)
        {
            if (t.Rank != 3 || t.Shape[0] != global.Shape[0])
            {
                throw new ShapeMismatchException("vcp_features", t.Shape, global.Shape, "block output [B, tokens, width] vs global [B, E]");
            }
        }
        BlockOutputs = blockOutputs;
        Global = global;
    }

    /// <summary>Outputs of the feature layers, one [B, tokens, width] tensor per layer.</summary>
    public IReadOnlyList<Tensor> BlockOutputs { get; }

    /// <summary>Global image embedding, [B, E].</summary>
    public Tensor Global { get; }

    /// <summary>Number of images (B).</summary>
    public int Count => Global.Shape[0];

    /// <summary>Images [start, start + count) as dense copies (for caching per image or re-batching).</summary>
    public ImageFeatures Slice(int start, int count)
    {
        using var noGrad = Tensors.Autograd.Tape.NoGrad();
        var blocks = new Tensor[BlockOutputs.Count];
        for (var l = 0; l < blocks.Length; l++)
        {
            using var view = Ops.Narrow(BlockOutputs[l], 0, start, count);
            blocks[l] = Ops.CopyOf(view);
        }
        using var g = Ops.Narrow(Global, 0, start, count);
        return new ImageFeatures(blocks, Ops.CopyOf(g));
    }

    /// <summary>Joins cached features of several images (or batches) along the batch axis.</summary>
    public static ImageFeatures Stack(IReadOnlyList<ImageFeatures> parts)
    {
        if (parts.Count == 0)
        {
            throw new ShapeMismatchException("vcp_features", "no features to stack");
        }
        using var noGrad = Tensors.Autograd.Tape.NoGrad();
        var layers = parts[0].BlockOutputs.Count;
        var blocks = new Tensor[layers];
        var pieces = new Tensor[parts.Count];
        for (var l = 0; l < layers; l++)
        {
            for (var i = 0; i < parts.Count; i++)
            {
                pieces[i] = parts[i].BlockOutputs[l];
            }
            blocks[l] = Ops.Concat(pieces, 0);
        }
        for (var i = 0; i < parts.Count; i++)
        {
            pieces[i] = parts[i].Global;
        }
        return new ImageFeatures(blocks, Ops.Concat(pieces, 0));
    }

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        foreach (var t in BlockOutputs)
        {
            t.Dispose();
        }
        Global.Dispose();
    }
}
