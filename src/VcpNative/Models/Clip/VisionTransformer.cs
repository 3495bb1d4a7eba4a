// The CLIP image tower: patch embedding, class token, position embedding, ln_pre, blocks, ln_post, proj.
using VcpNative.Tensors;

namespace VcpNative.Models.Clip;

/// <summary>Image tower outputs: the final residual stream and the raw outputs of the requested blocks.</summary>
public sealed class VisionOutput : IDisposable
{
    /// <summary>Takes ownership of the final tokens and the per-block outputs.</summary>
    public VisionOutput(Tensor finalTokens, IReadOnlyList<Tensor> blockOutputs)
    {
        FinalTokens = finalTokens;
        BlockOutputs = blockOutputs;
    }

    /// <summary>Residual stream after the last block, [B, 1 + g^2, width] (before ln_post).</summary>
    public Tensor FinalTokens { get; }

    /// <summary>Raw residual-stream outputs of the requested blocks (1-indexed block numbers), [B, 1 + g^2, width] each.</summary>
    public IReadOnlyList<Tensor> BlockOutputs { get; }

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        FinalTokens.Dispose();
        foreach (var t in BlockOutputs)
        {
            if (!ReferenceEquals(t, FinalTokens))
            {
                t.Dispose();
            }
        }
    }
}

/// <summary>CLIP's image tower (ViT): patch embedding, class token, position embedding, residual blocks, ln_post, proj.</summary>
public sealed class VisionTransformer
{
    private readonly ClipConfig config;
    private readonly Tensor conv;
    private readonly Tensor classEmbedding;
    private readonly Tensor nativePositions;
    private readonly LayerNormWeights lnPre;
    private readonly LayerNormWeights lnPost;
    private readonly Tensor proj;
    private readonly ResidualAttentionBlock[] blocks;
    private readonly PositionResizeMode resizeMode;
    private readonly Dictionary<int, Tensor> positionsByGrid = new();

    /// <summary>Loads the image tower from <paramref name="p"/>, resizing positions with <paramref name="resizeMode"/>.</summary>
    public VisionTransformer(ParameterSet p, ClipConfig config, ClipActivation activation, PositionResizeMode resizeMode)
    {
        this.config = config;
        this.resizeMode = resizeMode;
        var w = config.VisionWidth;
        conv = p.Get("visual.conv1.weight", w, 3, config.PatchSize, config.PatchSize);
        classEmbedding = p.Get("visual.class_embedding", w);
        nativePositions = p.Get("visual.positional_embedding", config.NativeGrid * config.NativeGrid + 1, w);
        lnPre = LayerNormWeights.Load(p, "visual.ln_pre", w);
        lnPost = LayerNormWeights.Load(p, "visual.ln_post", w);
        proj = p.Get("visual.proj", w, config.EmbedDim);
        blocks = new ResidualAttentionBlock[config.VisionLayers];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = new ResidualAttentionBlock(p, $"visual.transformer.resblocks.{i}", w, config.VisionHeads, activation);
        }
    }

    /// <summary>Sizes of the model.</summary>
    public ClipConfig Config => config;

    /// <summary>The position embedding for a grid, resized once and cached (as VCP-CLIP replaces it at load).</summary>
    public Tensor PositionsFor(int grid)
    {
        lock (positionsByGrid)
        {
            if (!positionsByGrid.TryGetValue(grid, out var pos))
            {
                using var detached = TensorScope.Suspend();
                using var noGrad = Tensors.Autograd.Tape.NoGrad();
                pos = PositionEmbeddingResize.Resize(nativePositions, grid, resizeMode);
                positionsByGrid[grid] = pos;
            }
            return pos;
        }
    }

    /// <summary>images [B, 3, S, S] (normalised) -> final tokens and the outputs of <paramref name="layers"/> (1-indexed).</summary>
    public VisionOutput Forward(Tensor images, IReadOnlyList<int> layers, IProgress<int>? blockProgress = null)
    {
        if (images.Rank != 4 || images.Shape[1] != 3 || images.Shape[2] != images.Shape[3])
        {
            throw new ShapeMismatchException("vision_forward", images.Shape, [-1, 3, -1, -1], "images must be [B, 3, S, S]");
        }
        foreach (var l in layers)
        {
            if (l < 1 || l > blocks.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(layers), $"block {l} requested, the vision tower has blocks 1..{blocks.Length}");
            }
        }
        var b = images.Shape[0];
        var grid = images.Shape[2] / config.PatchSize;
        var width = config.VisionWidth;
        Tensor x;
        using (var scope = new TensorScope())
        {
            var patches = Ops.Conv2dPatch(images, conv, null);
            var tokens = Ops.Permute(Ops.Reshape(patches, b, width, grid * grid), 0, 2, 1);
            var cls = Ops.Expand(Ops.Reshape(classEmbedding, 1, 1, width), [b, 1, width]);
            var seq = Ops.Add(Ops.Concat([cls, tokens], 1), PositionsFor(grid));
            x = scope.Keep(lnPre.Apply(seq));
        }
        var outputs = new Tensor[layers.Count];
        for (var i = 0; i < blocks.Length; i++)
        {
            var next = blocks[i].Forward(x, causal: false);
            var keep = false;
            for (var j = 0; j < layers.Count; j++)
            {
                if (layers[j] == i + 1)
                {
                    outputs[j] = next;
                    keep = true;
                }
            }
            if (!IsKept(x, outputs))
            {
                x.Dispose();
            }
            x = next;
            _ = keep;
            blockProgress?.Report(i + 1);
        }
        return new VisionOutput(x, outputs);
    }

    private static bool IsKept(Tensor t, Tensor[] outputs)
    {
        foreach (var o in outputs)
        {
            if (ReferenceEquals(o, t))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>ln_post(x[:, 0]) @ proj (standard CLIP; VCP-CLIP) or x[:, 0] @ proj without ln_post (ViP2-CLIP).</summary>
    public Tensor GlobalEmbedding(Tensor finalTokens, bool applyLnPost)
    {
        using var scope = new TensorScope();
        var cls = Ops.Select(finalTokens, 1, 0);
        var normed = applyLnPost ? lnPost.Apply(cls) : cls;
        return scope.Keep(Ops.MatMul(normed, proj));
    }

    /// <summary>ln_post(tokens) @ proj for every token (ViP2-CLIP's patch features).</summary>
    public Tensor ProjectTokens(Tensor tokens)
    {
        using var scope = new TensorScope();
        return scope.Keep(Ops.MatMul(lnPost.Apply(tokens), proj));
    }
}
