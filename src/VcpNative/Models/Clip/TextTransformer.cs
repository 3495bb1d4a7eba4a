// The CLIP text tower: token + position embedding, causal blocks, ln_final, projection at the EOT token.
using VcpNative.Tensors;

namespace VcpNative.Models.Clip;

/// <summary>
/// Runs on embeddings directly so learnable prompt tokens can be spliced in; an optional hook may rewrite the
/// residual stream before each block (VCP-CLIP's deep prompts overwrite one slot before blocks 1..N-1).
/// </summary>
public sealed class TextTransformer
{
    private readonly ClipConfig config;
    private readonly ResidualAttentionBlock[] blocks;

    /// <summary>Loads the text tower from <paramref name="p"/>.</summary>
    public TextTransformer(ParameterSet p, ClipConfig config, ClipActivation activation)
    {
        this.config = config;
        TokenEmbedding = p.Get("token_embedding.weight", config.VocabSize, config.TextWidth);
        PositionalEmbedding = p.Get("positional_embedding", config.ContextLength, config.TextWidth);
        LnFinal = LayerNormWeights.Load(p, "ln_final", config.TextWidth);
        TextProjection = p.Get("text_projection", config.TextWidth, config.EmbedDim);
        blocks = new ResidualAttentionBlock[config.TextLayers];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = new ResidualAttentionBlock(p, $"transformer.resblocks.{i}", config.TextWidth, config.TextHeads, activation);
        }
    }

    /// <summary>token_embedding [vocab, width].</summary>
    public Tensor TokenEmbedding { get; }

    /// <summary>positional_embedding [context, width].</summary>
    public Tensor PositionalEmbedding { get; }

    /// <summary>ln_final.</summary>
    public LayerNormWeights LnFinal { get; }

    /// <summary>text_projection [width, embed].</summary>
    public Tensor TextProjection { get; }

    /// <summary>Number of residual blocks.</summary>
    public int Layers => blocks.Length;

    /// <summary>token_embedding[ids] for ids [B, L] (I32).</summary>
    public Tensor Embed(Tensor ids) => Ops.Embedding(TokenEmbedding, ids);

    /// <summary>
    /// Runs the causal blocks on x [B, L, width] (position embedding already added). <paramref name="beforeBlock"/>(i, x)
    /// may return a replacement stream before block i (0-based). Returns the stream after the last block (no ln_final).
    /// </summary>
    public Tensor Blocks(Tensor x, Func<int, Tensor, Tensor>? beforeBlock = null)
    {
        var h = x;
        for (var i = 0; i < blocks.Length; i++)
        {
            var input = beforeBlock is null ? h : beforeBlock(i, h);
            var next = blocks[i].Forward(input, causal: true);
            if (!ReferenceEquals(h, x))
            {
                h.Dispose();
            }
            if (!ReferenceEquals(input, h) && !ReferenceEquals(input, x))
            {
                input.Dispose();
            }
            h = next;
        }
        return h;
    }

    /// <summary>Rows <paramref name="eotIndex"/>[b] of x [B, L, width] projected: [B, embed].</summary>
    public Tensor ProjectAt(Tensor x, IReadOnlyList<int> eotIndex)
    {
        using var scope = new TensorScope();
        var rows = new Tensor[eotIndex.Count];
        for (var b = 0; b < rows.Length; b++)
        {
            rows[b] = Ops.Narrow(Ops.Select(x, 0, b), 0, eotIndex[b], 1);
        }
        var picked = Ops.Concat(rows, 0);
        return scope.Keep(Ops.MatMul(picked, TextProjection));
    }

    /// <summary>Standard CLIP text features for token ids [B, L]: EOT = position of the largest id.</summary>
    public Tensor Encode(int[][] tokens)
    {
        using var scope = new TensorScope();
        var b = tokens.Length;
        var l = config.ContextLength;
        var flat = new int[b * l];
        var eot = new int[b];
        for (var i = 0; i < b; i++)
        {
            if (tokens[i].Length != l)
            {
                throw new ShapeMismatchException("text_encode", [tokens[i].Length], [l], "token sequence length vs context length");
            }
            tokens[i].CopyTo(flat, i * l);
            eot[i] = Array.IndexOf(tokens[i], tokens[i].Max());
        }
        var ids = Tensor.FromInts(flat, [b, l]);
        var x = Ops.Add(Embed(ids), PositionalEmbedding);
        var h = LnFinal.Apply(Blocks(x));
        return scope.Keep(ProjectAt(h, eot));
    }
}
