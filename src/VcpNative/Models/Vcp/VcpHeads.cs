// VCP-CLIP's learnable modules (Pre-VCP, deep text prompts, Post-VCP, per-layer linear layers) and their forward pass.
using VcpNative.Models.Clip;
using VcpNative.Models.Heads;
using VcpNative.Models.Text;
using VcpNative.Tensors;

namespace VcpNative.Models.Vcp;

/// <summary>Per-image anomaly probabilities of both branches, averaged over the feature layers.</summary>
public sealed class VcpMaps : IDisposable
{
    /// <summary>Takes ownership of the branch maps and their per-layer parts.</summary>
    public VcpMaps(Tensor raw, Tensor @new, IReadOnlyList<Tensor> rawLayers, IReadOnlyList<Tensor> newLayers)
    {
        Raw = raw;
        New = @new;
        RawLayers = rawLayers;
        NewLayers = newLayers;
    }

    /// <summary>Pre-VCP ("raw") branch: mean over layers of P(anomalous), [B, S, S].</summary>
    public Tensor Raw { get; }

    /// <summary>Post-VCP ("new") branch: mean over layers of P(anomalous), [B, S, S].</summary>
    public Tensor New { get; }

    /// <summary>Per-layer P(anomalous) of the raw branch (kept for the training losses), [B, S, S] each.</summary>
    public IReadOnlyList<Tensor> RawLayers { get; }

    /// <summary>Per-layer P(anomalous) of the new branch, [B, S, S] each.</summary>
    public IReadOnlyList<Tensor> NewLayers { get; }

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        Raw.Dispose();
        New.Dispose();
        foreach (var t in RawLayers)
        {
            t.Dispose();
        }
        foreach (var t in NewLayers)
        {
            t.Dispose();
        }
    }
}

/// <summary>
/// The VCP-CLIP heads exactly as method-spec section 2: every size (r, n, deep layers, widths) comes from the weights.
/// Parameter names are the authors' checkpoint keys flattened with '.'.
/// </summary>
public sealed class VcpHeads
{
    /// <summary>Post-VCP attention heads (fixed in the authors' code).</summary>
    public const int PostVcpHeads = TextPatchCrossAttention.Heads;

    /// <summary>The unified prompts, normal first (index 0 = normal, 1 = abnormal).</summary>
    public static readonly string[] StatePrompts = ["a photo of a good <|class|>", "a photo of a damaged <|class|>"];

    private readonly ParameterSet p;
    private readonly TextPatchCrossAttention postVcp;
    private readonly int[][] promptTokens;

    /// <summary>Loads the heads from <paramref name="parameters"/> for a CLIP of <paramref name="clip"/>'s sizes.</summary>
    public VcpHeads(ParameterSet parameters, ClipConfig clip)
    {
        p = parameters;
        Clip = clip;
        var e = clip.EmbedDim;
        var wt = clip.TextWidth;
        var wv = clip.VisionWidth;
        if (e != wt)
        {
            throw new WeightsConverter.ModelFormatException(p.Source, null, "New_Lan_Embed.prompt_query", $"VCP-CLIP splices embed-dim tokens into the text stream: embed dim {e} must equal text width {wt}");
        }
        var query = p.Get("New_Lan_Embed.prompt_query", 1, -1, e);
        R = query.Shape[1];
        p.Get("New_Lan_Embed.prompt_linear1.fc.weight", R, 1, 3);
        p.Get("New_Lan_Embed.prompt_linear1.fc.bias", R);
        p.Get("New_Lan_Embed.prompt_temp");
        var prompt = p.Get("prompt_embeddings", 1, -1, wt);
        N = prompt.Shape[1];
        DeepLayers = p.Get("deep_prompt_embeddings", -1, N, wt).Shape[0];
        if (DeepLayers != clip.TextLayers - 1)
        {
            throw new WeightsConverter.ModelFormatException(p.Source, null, "deep_prompt_embeddings",
                $"expected {clip.TextLayers - 1} deep layers (text layers - 1) for this CLIP, found {DeepLayers}");
        }
        p.Get("prompt_proj.weight", wt, wt);
        p.Get("prompt_proj.bias", wt);
        p.Get("prompt_norm.weight", wt);
        p.Get("prompt_norm.bias", wt);
        postVcp = new TextPatchCrossAttention(p, "Zero_try", e, wv);
        PostWidth = postVcp.OutputWidth;
        if (PostWidth != wv)
        {
            throw new WeightsConverter.ModelFormatException(p.Source, null, "Zero_try.q_proj_pre.weight",
                $"Post-VCP width {PostWidth} must equal the CLIP vision width {wv}");
        }
        p.Get("Zero_try.prompt_temp_l1");
        FeatureLayers = p.CountIndexed("trainable_linearlayer.fc", "weight");
        if (FeatureLayers == 0)
        {
            throw new WeightsConverter.ModelFormatException(p.Source, null, "trainable_linearlayer.fc.0.weight", "missing tensor (is this a VCP-CLIP head file?)");
        }
        for (var l = 0; l < FeatureLayers; l++)
        {
            p.Get($"trainable_linearlayer.fc.{l}.weight", e, wv);
            p.Get($"trainable_linearlayer.fc.{l}.bias", e);
        }
        var tokenizer = new ClipTokenizer(withClassToken: true);
        promptTokens = new int[StatePrompts.Length][];
        for (var s = 0; s < StatePrompts.Length; s++)
        {
            promptTokens[s] = tokenizer.Tokenize(StatePrompts[s], clip.ContextLength);
        }
    }

    /// <summary>Sizes of the CLIP the heads belong to.</summary>
    public ClipConfig Clip { get; }

    /// <summary>Number of Pre-VCP category tokens (prompt_len).</summary>
    public int R { get; }

    /// <summary>Number of deep prompt tokens per layer (deep_prompt_len).</summary>
    public int N { get; }

    /// <summary>Number of deep prompt layers.</summary>
    public int DeepLayers { get; }

    /// <summary>Width of the Post-VCP attention.</summary>
    public int PostWidth { get; }

    /// <summary>Number of feature layers (the authors use blocks 6/12/18/24 of ViT-L/14).</summary>
    public int FeatureLayers { get; }

    /// <summary>The head weights.</summary>
    public ParameterSet Parameters => p;

    /// <summary>The 1-indexed vision blocks the heads read: evenly spaced, ending at the last block (6/12/18/24 for 24 layers).</summary>
    public int[] DefaultBlocks()
    {
        var blocks = new int[FeatureLayers];
        for (var i = 0; i < FeatureLayers; i++)
        {
            blocks[i] = Clip.VisionLayers * (i + 1) / FeatureLayers;
        }
        return blocks;
    }

    /// <summary>Pre-VCP: Z = prompt_query + Conv1d_{1->r,k3,same}(g), g: [B, E] -> [B, r, E].</summary>
    public Tensor PreVcp(Tensor global)
    {
        using var scope = new TensorScope();
        var b = global.Shape[0];
        var g = Ops.Reshape(global, b, 1, Clip.EmbedDim);
        var c = Ops.Conv1d(g, p.Get("New_Lan_Embed.prompt_linear1.fc.weight"), p.Get("New_Lan_Embed.prompt_linear1.fc.bias"), padding: 1);
        return scope.Keep(Ops.Add(c, p.Get("New_Lan_Embed.prompt_query")));
    }

    /// <summary>
    /// Text embeddings of the normal and abnormal prompt for each image, [B, 2, E], L2-normalised; dropout on the
    /// projected prompts only when <paramref name="dropoutRng"/> is given (training).
    /// </summary>
    public Tensor EncodePrompts(TextTransformer text, Tensor z, System.Random? dropoutRng = null, float dropout = 0.1f)
    {
        using var scope = new TensorScope();
        var b = z.Shape[0];
        var ctx = Clip.ContextLength;
        var w = Clip.TextWidth;
        var states = promptTokens.Length;
        var slot = Array.IndexOf(promptTokens[0], ClipTokenizer.ClassToken);
        var eot = Array.IndexOf(promptTokens[0], ClipTokenizer.EndOfText);
        for (var s = 1; s < states; s++)
        {
            if (Array.IndexOf(promptTokens[s], ClipTokenizer.ClassToken) != slot || Array.IndexOf(promptTokens[s], ClipTokenizer.EndOfText) != eot)
            {
                throw new InvalidOperationException("state prompts must share the class slot and EOT position");
            }
        }
        var flat = new int[states * ctx];
        for (var s = 0; s < states; s++)
        {
            promptTokens[s].CopyTo(flat, s * ctx);
        }
        // The <|class|> row is replaced by Z below; OpenAI's vocabulary has no row 49408, so look up row 0 instead.
        for (var i = 0; i < flat.Length; i++)
        {
            if (flat[i] == ClipTokenizer.ClassToken)
            {
                flat[i] = 0;
            }
        }
        var embedded = text.Embed(Tensor.FromInts(flat, [states, ctx]));            // [2, 77, W]
        // Sequence: E[:slot], Z (r rows), E[slot+1 : ctx-r+1]; keeps ctx rows (the last pad drops out).
        var prefix = Ops.Expand(Ops.Unsqueeze(Ops.Narrow(embedded, 1, 0, slot), 0), [b, states, slot, w]);
        var suffixLength = ctx - R + 1 - (slot + 1);
        var suffix = Ops.Expand(Ops.Unsqueeze(Ops.Narrow(embedded, 1, slot + 1, suffixLength), 0), [b, states, suffixLength, w]);
        var zz = Ops.Expand(Ops.Unsqueeze(z, 1), [b, states, R, w]);
        var x = Ops.Reshape(Ops.Concat([prefix, zz, suffix], 2), b * states, ctx, w);
        x = Ops.Add(x, text.PositionalEmbedding);
        var projW = p.Get("prompt_proj.weight");
        var projB = p.Get("prompt_proj.bias");
        Tensor Prompt(Tensor embeddings)
        {
            var projected = Ops.Expand(Ops.Unsqueeze(Ops.Linear(embeddings, projW, projB), 0), [b * states, N, w]);
            // After the expand, as the authors (dropout(proj(p).expand(...))): one mask per image and state.
            return dropoutRng is null ? projected : Ops.Dropout(projected, dropout, dropoutRng, training: true);
        }
        // The prompt goes in at index 1 (after SOT) with no positional embedding; the last rows drop out.
        x = Ops.Concat([Ops.Narrow(x, 1, 0, 1), Prompt(Ops.Select(p.Get("prompt_embeddings"), 0, 0)), Ops.Narrow(x, 1, 1, ctx - 1 - N)], 1);
        var deep = p.Get("deep_prompt_embeddings");
        var h = text.Blocks(x, (i, stream) => i == 0
            ? stream
            : Ops.Concat([Ops.Narrow(stream, 1, 0, 1), Prompt(Ops.Select(deep, 0, i - 1)), Ops.Narrow(stream, 1, 1 + N, ctx - 1 - N)], 1));
        // Drop the prompt rows; the EOT moved by r - 1 (class expansion). LayerNorms are per row, so normalise only EOT.
        var eotIndex = eot + R - 1;
        var row = Ops.Narrow(h, 1, eotIndex < 1 ? eotIndex : eotIndex + N, 1);         // [2B, 1, W]
        var normed = Ops.LayerNorm(row, p.Get("prompt_norm.weight"), p.Get("prompt_norm.bias"), 1e-6f);
        normed = text.LnFinal.Apply(normed);
        var features = Ops.MatMul(Ops.Reshape(normed, b * states, w), text.TextProjection);
        // normalise, mean over the single template, normalise again (as the authors do)
        features = Ops.L2Normalize(Ops.L2Normalize(features));
        return scope.Keep(Ops.Reshape(features, b, states, Clip.EmbedDim));
    }

    /// <summary>
    /// Both branches for every feature layer. <paramref name="blockOutputs"/>: raw block outputs [B, 1+g^2, Wv];
    /// <paramref name="textFeatures"/>: [B, 2, E]. Returns P(anomalous) per pixel at <paramref name="imageSize"/>.
    /// </summary>
    public VcpMaps Maps(IReadOnlyList<Tensor> blockOutputs, Tensor textFeatures, int imageSize)
    {
        using var scope = new TensorScope();
        var (rawLogits, newLogits) = LogitDifferences(blockOutputs, textFeatures, imageSize);
        var rawLayers = new Tensor[FeatureLayers];
        var newLayers = new Tensor[FeatureLayers];
        for (var l = 0; l < FeatureLayers; l++)
        {
            rawLayers[l] = scope.Keep(Ops.Sigmoid(rawLogits[l]));
            newLayers[l] = scope.Keep(Ops.Sigmoid(newLogits[l]));
        }
        var raw = scope.Keep(Mean(rawLayers));
        var fresh = scope.Keep(Mean(newLayers));
        return new VcpMaps(raw, fresh, rawLayers, newLayers);
    }

    /// <summary>
    /// Per feature layer, the upsampled logit difference d = l_abnormal - l_normal [B, S, S] of the raw (Pre-VCP) and
    /// new (Post-VCP) branches: the 2-class softmax is (sigmoid(-d), sigmoid(d)). Training takes both channels from
    /// d so the normal-class probability keeps full precision where P(anomalous) rounds to 1.
    /// </summary>
    public (Tensor[] Raw, Tensor[] New) LogitDifferences(IReadOnlyList<Tensor> blockOutputs, Tensor textFeatures, int imageSize)
    {
        if (blockOutputs.Count != FeatureLayers)
        {
            throw new ShapeMismatchException("vcp_maps", $"{blockOutputs.Count} block outputs given, the heads have {FeatureLayers} feature layers");
        }
        var rawLayers = new Tensor[FeatureLayers];
        var newLayers = new Tensor[FeatureLayers];
        using var scope = new TensorScope();
        var tauRaw = Ops.Exp(p.Get("New_Lan_Embed.prompt_temp"));
        var tauNew = Ops.Exp(p.Get("Zero_try.prompt_temp_l1"));
        for (var l = 0; l < FeatureLayers; l++)
        {
            var tokens = blockOutputs[l];
            if (tokens.Rank != 3 || tokens.Shape[2] != Clip.VisionWidth)
            {
                throw new ShapeMismatchException("vcp_maps", tokens.Shape, [-1, -1, Clip.VisionWidth], "block output vs vision width");
            }
            var patches = Ops.Narrow(tokens, 1, 1, tokens.Shape[1] - 1);
            // Post-VCP ("new") branch in the raw 1024-d patch space.
            var s = Ops.L2Normalize(patches);
            var refined = PostVcp(textFeatures, s);
            var logitsNew = Ops.Mul(Ops.MatMul(s, refined, transB: true), tauNew);        // [B, N, 2]
            // Pre-VCP ("raw") branch through the per-layer linear layer.
            var projected = Ops.L2Normalize(Ops.Linear(patches, p.Get($"trainable_linearlayer.fc.{l}.weight"), p.Get($"trainable_linearlayer.fc.{l}.bias")));
            var logitsRaw = Ops.Mul(Ops.MatMul(projected, textFeatures, transB: true), tauRaw);
            rawLayers[l] = scope.Keep(UpsampledLogitDifference(logitsRaw, imageSize));
            newLayers[l] = scope.Keep(UpsampledLogitDifference(logitsNew, imageSize));
        }
        return (rawLayers, newLayers);
    }

    /// <summary>Post-VCP: text queries attend over patches (8 heads, no 1/sqrt(d) scaling), projected and normalised: [B, 2, Dout].</summary>
    public Tensor PostVcp(Tensor textFeatures, Tensor normalisedPatches) => postVcp.Forward(textFeatures, normalisedPatches);

    /// <summary>
    /// Logits [B, g^2, 2] -> l1 - l0 upsampled [B, S, S]: the authors upsample both logits (bilinear, align_corners)
    /// before the 2-class softmax, which is sigmoid(l1 - l0); upsampling is linear, so the difference is upsampled once.
    /// </summary>
    private static Tensor UpsampledLogitDifference(Tensor logits, int imageSize)
    {
        using var scope = new TensorScope();
        var b = logits.Shape[0];
        var grid = (int)Math.Round(Math.Sqrt(logits.Shape[1]));
        var diff = Ops.Sub(Ops.Select(logits, 2, 1), Ops.Select(logits, 2, 0));          // [B, g^2]
        var up = Ops.ResizeBilinear(Ops.Reshape(diff, b, 1, grid, grid), imageSize, imageSize, alignCorners: true);
        return scope.Keep(Ops.Reshape(up, b, imageSize, imageSize));
    }

    private static Tensor Mean(Tensor[] layers)
    {
        using var scope = new TensorScope();
        var sum = layers[0];
        for (var i = 1; i < layers.Length; i++)
        {
            sum = Ops.Add(sum, layers[i]);
        }
        return scope.Keep(Ops.Scale(sum, 1f / layers.Length));
    }
}
