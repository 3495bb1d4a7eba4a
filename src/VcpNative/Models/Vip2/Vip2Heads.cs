// ViP2-CLIP's learnable modules (ICA prompts with the Meta-Net, the shared FGP) and the UTPA forward of method-spec 3.4.
using VcpNative.Models.Clip;
using VcpNative.Models.Heads;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;
using VcpNative.WeightsConverter;

namespace VcpNative.Models.Vip2;

/// <summary>Per-layer upsampled probabilities and the image-level logits of a batch.</summary>
public sealed class Vip2Outputs : IDisposable
{
    /// <summary>Takes ownership of the per-layer probabilities and the image logits.</summary>
    public Vip2Outputs(IReadOnlyList<Tensor> probabilities, Tensor imageLogits)
    {
        Probabilities = probabilities;
        ImageLogits = imageLogits;
    }

    /// <summary>Per feature layer, softmax(s / 0.07) upsampled (bilinear, align_corners=False): [B, 2, S, S], channel 0 normal.</summary>
    public IReadOnlyList<Tensor> Probabilities { get; }

    /// <summary>m / 0.07 with m the mean raw cosine over the top-k patches of every layer: [B, 2], index 1 anomalous.</summary>
    public Tensor ImageLogits { get; }

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        foreach (var t in Probabilities)
        {
            t.Dispose();
        }
        ImageLogits.Dispose();
    }
}

/// <summary>
/// The ViP2-CLIP heads exactly as the authors' code (method-spec section 3). Every size (e state tokens, r generic tokens,
/// Meta-Net hidden width, prompt length) comes from the weights; the prompt buffers (with the authors' "damaged" word in
/// the normal prompt) are read from the checkpoint, never rebuilt. Names are the checkpoint keys flattened with '.'.
/// </summary>
public sealed class Vip2Heads
{
    /// <summary>Name prefix of the ICA (prompt learner) tensors.</summary>
    public const string IcaPrefix = "prompt_learner";
    /// <summary>Name prefix of the FGP tensors (the authors' module name).</summary>
    public const string FgpPrefix = "Zero_try";

    /// <summary>Fixed softmax temperature of UTPA (not learned).</summary>
    public const float Temperature = 0.07f;

    /// <summary>Patches per layer whose cosines make the image score.</summary>
    public const int TopK = 50;

    /// <summary>The authors read blocks 6/12/18/24 of ViT-L/14: four evenly spaced blocks.</summary>
    public const int DefaultFeatureLayers = 4;

    /// <summary>The persistent buffers of the ICA module: constants, never trained.</summary>
    public static readonly string[] BufferNames =
    [
        "token_prefix_pos", "token_middle_pos", "token_suffix_pos", "token_prefix_neg", "token_middle_neg", "token_suffix_neg",
        "tokenized_prompts_pos", "tokenized_prompts_neg",
    ];

    private readonly ParameterSet p;
    private readonly TextPatchCrossAttention fgp;
    private readonly int eotNormal;
    private readonly int eotAnomalous;

    /// <summary>Loads the heads from <paramref name="parameters"/> for a CLIP of <paramref name="clip"/>'s sizes, reading <paramref name="featureLayers"/> layers.</summary>
    public Vip2Heads(ParameterSet parameters, ClipConfig clip, int featureLayers = DefaultFeatureLayers)
    {
        p = parameters;
        Clip = clip;
        FeatureLayers = featureLayers;
        var w = clip.TextWidth;
        var e = clip.EmbedDim;
        var ctx = clip.ContextLength;
        E = p.Get(Ica("ctx_pos"), -1, w).Shape[0];
        p.Get(Ica("ctx_neg"), E, w);
        R = p.Get(Ica("cls_ctx"), -1, w).Shape[0];
        p.Get(Ica("cls_prompter.bias"), 1, e);
        var mlps = p.CountIndexed(Ica("cls_prompter.fc"), "0.weight");
        if (mlps != R)
        {
            throw new ModelFormatException(p.Source, null, Ica("cls_prompter.fc.0.0.weight"), $"expected {R} Meta-Net MLPs (one per cls_ctx token), found {mlps}");
        }
        MetaHidden = p.Get(Ica("cls_prompter.fc.0.0.weight"), -1, e).Shape[0];
        for (var k = 0; k < R; k++)
        {
            p.Get(Ica($"cls_prompter.fc.{k}.0.weight"), MetaHidden, e);
            p.Get(Ica($"cls_prompter.fc.{k}.0.bias"), MetaHidden);
            p.Get(Ica($"cls_prompter.fc.{k}.2.weight"), w, MetaHidden);
            p.Get(Ica($"cls_prompter.fc.{k}.2.bias"), w);
        }
        var suffix = ctx - 2 - E - R;
        if (suffix < 1)
        {
            throw new ModelFormatException(p.Source, null, Ica("ctx_pos"), $"{E} state tokens + {R} generic tokens do not fit the context length {ctx}");
        }
        foreach (var state in new[] { "pos", "neg" })
        {
            p.Get(Ica($"token_prefix_{state}"), 1, 1, w);
            p.Get(Ica($"token_middle_{state}"), 1, 1, w);
            p.Get(Ica($"token_suffix_{state}"), 1, suffix, w);
        }
        eotNormal = EndOfText("tokenized_prompts_pos");
        eotAnomalous = EndOfText("tokenized_prompts_neg");
        fgp = new TextPatchCrossAttention(p, FgpPrefix, e, e);
        if (fgp.OutputWidth != e)
        {
            throw new ModelFormatException(p.Source, null, $"{FgpPrefix}.q_proj_pre.weight", $"FGP output width {fgp.OutputWidth} must equal the CLIP embed dim {e}");
        }
    }

    /// <summary>Sizes of the CLIP the heads belong to.</summary>
    public ClipConfig Clip { get; }

    /// <summary>State-specific learnable tokens per prompt (n_ctx; 7 in the authors' scripts).</summary>
    public int E { get; }

    /// <summary>Shared image-conditioned tokens (n_cls; 3 in the authors' scripts).</summary>
    public int R { get; }

    /// <summary>Hidden width of each Meta-Net MLP (384 for ViT-L/14).</summary>
    public int MetaHidden { get; }

    /// <summary>Number of feature layers the heads read.</summary>
    public int FeatureLayers { get; }

    /// <summary>The head weights.</summary>
    public ParameterSet Parameters => p;

    /// <summary>The FGP module (shared across layers).</summary>
    public TextPatchCrossAttention Fgp => fgp;

    /// <summary>Whether a checkpoint name is one of the ICA buffers (not a trainable parameter).</summary>
    public static bool IsBuffer(string name)
    {
        foreach (var b in BufferNames)
        {
            if (name == $"{IcaPrefix}.{b}")
            {
                return true;
            }
        }
        return false;
    }

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

    /// <summary>
    /// ICA and the text tower: normalised global features [B, E] -> text features [B, 2, E] (normal, anomalous), L2-normalised.
    /// z = cls_ctx + MetaNet_k(g + bias); prompts [SOT, ctx_state, MID, z, SUFFIX]; EOT = argmax of the stored token ids.
    /// </summary>
    public Tensor EncodePrompts(TextTransformer text, Tensor normalisedGlobal)
    {
        if (normalisedGlobal.Rank != 2 || normalisedGlobal.Shape[1] != Clip.EmbedDim)
        {
            throw new ShapeMismatchException("vip2_prompts", normalisedGlobal.Shape, [-1, Clip.EmbedDim], "global features [B, embed]");
        }
        using var scope = new TensorScope();
        var b = normalisedGlobal.Shape[0];
        var w = Clip.TextWidth;
        var u = Ops.Add(normalisedGlobal, p.Get(Ica("cls_prompter.bias")));
        var generic = new Tensor[R];
        for (var k = 0; k < R; k++)
        {
            var hidden = Ops.Relu(Ops.Linear(u, p.Get(Ica($"cls_prompter.fc.{k}.0.weight")), p.Get(Ica($"cls_prompter.fc.{k}.0.bias"))));
            var a = Ops.Linear(hidden, p.Get(Ica($"cls_prompter.fc.{k}.2.weight")), p.Get(Ica($"cls_prompter.fc.{k}.2.bias")));
            generic[k] = Ops.Unsqueeze(a, 1);
        }
        var z = Ops.Add(Ops.Concat(generic, 1), p.Get(Ica("cls_ctx")));                    // [B, r, W]
        var x = Ops.Concat([Prompt("pos", z, b, w), Prompt("neg", z, b, w)], 0);                // [2B, L, W]
        x = Ops.Add(x, text.PositionalEmbedding);
        var h = text.Blocks(x);
        // ln_final is per row: normalise only the EOT rows.
        var rows = Ops.Concat([Ops.Narrow(Ops.Narrow(h, 0, 0, b), 1, eotNormal, 1), Ops.Narrow(Ops.Narrow(h, 0, b, b), 1, eotAnomalous, 1)], 0);
        var features = Ops.MatMul(Ops.Reshape(text.LnFinal.Apply(rows), 2 * b, w), text.TextProjection);
        var perImage = Ops.Permute(Ops.Reshape(features, 2, b, Clip.EmbedDim), 1, 0, 2);
        return scope.Keep(Ops.L2Normalize(Ops.Contiguous(perImage)));
    }

    /// <summary>
    /// UTPA for every feature layer. <paramref name="projectedTokens"/>: ln_post(block) @ proj, [B, 1 + g^2, E] each;
    /// <paramref name="textFeatures"/>: [B, 2, E]. Probabilities come at <paramref name="imageSize"/>.
    /// </summary>
    public Vip2Outputs Forward(IReadOnlyList<Tensor> projectedTokens, Tensor textFeatures, int imageSize)
    {
        if (projectedTokens.Count != FeatureLayers)
        {
            throw new ShapeMismatchException("vip2_forward", $"{projectedTokens.Count} feature layers given, the heads use {FeatureLayers}");
        }
        var probabilities = new Tensor[FeatureLayers];
        using var scope = new TensorScope();
        Tensor? pooled = null;
        for (var l = 0; l < FeatureLayers; l++)
        {
            var tokens = projectedTokens[l];
            if (tokens.Rank != 3 || tokens.Shape[2] != Clip.EmbedDim)
            {
                throw new ShapeMismatchException("vip2_forward", tokens.Shape, [-1, -1, Clip.EmbedDim], "projected tokens vs embed dim");
            }
            var b = tokens.Shape[0];
            var n = tokens.Shape[1] - 1;
            var grid = (int)Math.Round(Math.Sqrt(n));
            if (grid * grid != n)
            {
                throw new ShapeMismatchException("vip2_forward", tokens.Shape, [b, -1, Clip.EmbedDim], "patch count must be a square grid plus the class token");
            }
            var patches = Ops.Narrow(Ops.L2Normalize(tokens), 1, 1, n);                    // L2 per row: the CLS row does not matter
            var refined = fgp.Forward(textFeatures, patches);                               // [B, 2, E]
            var cosines = Ops.MatMul(patches, refined, transB: true);                      // [B, N, 2]
            // 2-class softmax of s / tau = (sigmoid(-d), sigmoid(d)), d = (s1 - s0) / tau; each channel directly.
            var d = Ops.Scale(Ops.Sub(Ops.Select(cosines, 2, 1), Ops.Select(cosines, 2, 0)), 1f / Temperature);
            var anomalous = Ops.Sigmoid(d);
            var both = Ops.Concat([Ops.Unsqueeze(Ops.Sigmoid(Ops.Neg(d)), 1), Ops.Unsqueeze(anomalous, 1)], 1);   // [B, 2, N]
            probabilities[l] = scope.Keep(Ops.ResizeBilinear(Ops.Reshape(both, b, 2, grid, grid), imageSize, imageSize, alignCorners: false));
            // The image score pools the raw cosines of the top-k patches of P(anomalous): a fixed selection (no
            // gradient through the choice) times the cosines, so gradients reach the selected rows only.
            var selection = TopKSelection(anomalous, Math.Min(TopK, n), FeatureLayers);      // [B, 1, N]
            var term = Ops.MatMul(selection, cosines);                                       // [B, 1, 2]
            pooled = pooled is null ? term : Ops.Add(pooled, term);
        }
        var logits = scope.Keep(Ops.Scale(Ops.Reshape(pooled!, pooled!.Shape[0], 2), 1f / Temperature));
        return new Vip2Outputs(probabilities, logits);
    }

    /// <summary>Weights 1 / (k * layers) at the top-k positions of each row of <paramref name="scores"/> [B, N]; [B, 1, N].</summary>
    private static Tensor TopKSelection(Tensor scores, int k, int layers)
    {
        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        var b = scores.Shape[0];
        var n = scores.Shape[1];
        var (_, indices) = Ops.TopK(scores, k);
        var idx = indices.ToArray();
        var weights = new float[b * n];
        var weight = 1f / (k * layers);
        for (var i = 0; i < b; i++)
        {
            for (var j = 0; j < k; j++)
            {
                weights[i * n + (int)idx[i * k + j]] = weight;
            }
        }
        return scope.Keep(Tensor.FromArray(weights, [b, 1, n], scores.Backend));
    }

    /// <summary>[prefix, ctx_state (e), middle, z (r), suffix] for every image: [B, L, W].</summary>
    private Tensor Prompt(string state, Tensor z, int b, int w)
    {
        var ctx = p.Get(Ica($"ctx_{state}"));
        var suffix = p.Get(Ica($"token_suffix_{state}"));
        return Ops.Concat(
        [
            Ops.Expand(p.Get(Ica($"token_prefix_{state}")), [b, 1, w]),
            Ops.Expand(Ops.Unsqueeze(ctx, 0), [b, E, w]),
            Ops.Expand(p.Get(Ica($"token_middle_{state}")), [b, 1, w]),
            z,
            Ops.Expand(suffix, [b, suffix.Shape[1], w]),
        ], 1);
    }

    /// <summary>The EOT position = argmax of the stored token ids (as encode_text_learn), first maximum.</summary>
    private int EndOfText(string buffer)
    {
        var ids = p.Get(Ica(buffer), 1, Clip.ContextLength).ToArray();
        var best = 0;
        for (var i = 1; i < ids.Length; i++)
        {
            if (ids[i] > ids[best])
            {
                best = i;
            }
        }
        if (best != 1 + E + 1 + R)
        {
            throw new ModelFormatException(p.Source, null, Ica(buffer), $"end-of-text token at {best}, expected {1 + E + 1 + R} for {E} + {R} learnable tokens");
        }
        return best;
    }

    private static string Ica(string name) => $"{IcaPrefix}.{name}";
}
