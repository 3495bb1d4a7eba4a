// Seeded random weights for a named CLIP + VCP-CLIP architecture, so benchmarks and tests need no weight files.
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.WeightsConverter.Clip;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Models;

/// <summary>
/// A CLIP architecture plus the VCP-CLIP head sizes (method-spec 2.1/2.3): r category tokens, n deep prompt tokens per
/// layer, the number of feature layers. The Post-VCP width always equals the vision width and the deep layers are
/// text layers - 1, as the authors' code asserts.
/// </summary>
public sealed record ModelArchitecture(string Name, ClipConfig Clip, int PromptLength, int DeepPromptLength, int FeatureLayers)
{
    /// <summary>OpenAI ViT-L/14@336px as VCP-CLIP uses it (r = 2, n = 1, 4 feature layers).</summary>
    public static readonly ModelArchitecture VitL14_336 = new("vit-l-14-336",
        new ClipConfig(VisionWidth: 1024, VisionLayers: 24, VisionHeads: 16, PatchSize: 14, NativeGrid: 24, EmbedDim: 768,
            TextWidth: 768, TextLayers: 12, TextHeads: 12, ContextLength: 77, VocabSize: 49408),
        PromptLength: 2, DeepPromptLength: 1, FeatureLayers: 4);

    /// <summary>A tiny model with the same structure (for tests): widths 128/64, 4 vision and 2 text layers.</summary>
    public static readonly ModelArchitecture Tiny = new("tiny",
        new ClipConfig(VisionWidth: 128, VisionLayers: 4, VisionHeads: 2, PatchSize: 14, NativeGrid: 4, EmbedDim: 64,
            TextWidth: 64, TextLayers: 2, TextHeads: 1, ContextLength: 77, VocabSize: 49408),
        PromptLength: 2, DeepPromptLength: 1, FeatureLayers: 4);

    /// <summary>Every architecture random weights can be made for.</summary>
    public static IReadOnlyList<ModelArchitecture> All { get; } = [VitL14_336, Tiny];

    /// <summary>The architecture called <paramref name="name"/>; throws naming the known ones otherwise.</summary>
    public static ModelArchitecture ByName(string name)
    {
        foreach (var a in All)
        {
            if (string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return a;
            }
        }
        throw new ArgumentException($"unknown architecture '{name}' (known: {string.Join(", ", All.Select(a => a.Name))})");
    }
}

/// <summary>
/// Builds CLIP and VCP-head <see cref="ParameterSet"/>s with the canonical tensor names, filled with seeded random
/// values scaled like the real initialisations (OpenAI CLIP's initialize_parameters, PyTorch's Linear/Conv1d defaults,
/// the VCP heads' own inits) so activations stay finite through 24 blocks. Values are uniform with the target standard
/// deviation (faster than normals and enough for timing and finiteness checks).
/// </summary>
public static class RandomWeights
{
    /// <summary>
    /// CLIP weights (names as OpenAI's state dict) for <paramref name="arch"/>. With a bf16 / int8
    /// <paramref name="format"/> the blocks' linear weights are the same random values encoded as `convert
    /// --weights-format` would (compressed on the CPU, decoded to F32 on other backends), so formats can be compared
    /// without weight files.
    /// </summary>
    public static ParameterSet Clip(ModelArchitecture arch, int seed, IBackend? backend = null, LinearWeightFormat format = LinearWeightFormat.F32)
    {
        var c = arch.Clip;
        var specs = new List<Spec>();
        var wv = c.VisionWidth;
        var scale = 1.0 / Math.Sqrt(wv);
        specs.Add(new("visual.conv1.weight", [wv, 3, c.PatchSize, c.PatchSize], 1.0 / Math.Sqrt(3 * c.PatchSize * c.PatchSize)));
        specs.Add(new("visual.class_embedding", [wv], scale));
        specs.Add(new("visual.positional_embedding", [c.NativeGrid * c.NativeGrid + 1, wv], scale));
        AddLayerNorm(specs, "visual.ln_pre", wv);
        AddLayerNorm(specs, "visual.ln_post", wv);
        specs.Add(new("visual.proj", [wv, c.EmbedDim], scale));
        AddBlocks(specs, "visual.transformer.resblocks", c.VisionLayers, wv);
        var wt = c.TextWidth;
        specs.Add(new("token_embedding.weight", [c.VocabSize, wt], 0.02));
        specs.Add(new("positional_embedding", [c.ContextLength, wt], 0.01));
        AddBlocks(specs, "transformer.resblocks", c.TextLayers, wt);
        AddLayerNorm(specs, "ln_final", wt);
        specs.Add(new("text_projection", [wt, c.EmbedDim], 1.0 / Math.Sqrt(wt)));
        specs.Add(new("logit_scale", [], 0, Math.Log(1 / 0.07)));
        return Build($"random:{arch.Name}:clip:seed{seed}", specs, seed, backend, format);
    }

    /// <summary>VCP-CLIP head weights (the authors' checkpoint keys flattened with '.') for <paramref name="arch"/>.</summary>
    public static ParameterSet VcpHeads(ModelArchitecture arch, int seed, IBackend? backend = null)
    {
        var c = arch.Clip;
        var e = c.EmbedDim;
        var wt = c.TextWidth;
        var wv = c.VisionWidth;
        var r = arch.PromptLength;
        var n = arch.DeepPromptLength;
        var temp = Math.Log(1 / 0.07);
        var specs = new List<Spec>
        {
            // trunc_normal_(std 1): uniform with unit std stays within +-sqrt(3), inside the +-2 cut.
            new("New_Lan_Embed.prompt_query", [1, r, e], 1.0),
            new("New_Lan_Embed.prompt_temp", [], 0, temp),
            new("New_Lan_Embed.prompt_linear1.fc.weight", [r, 1, 3], DefaultStd(3)),
            new("New_Lan_Embed.prompt_linear1.fc.bias", [r], DefaultStd(3)),
            new("prompt_embeddings", [1, n, wt], 1 / Math.Sqrt(3)),
            new("deep_prompt_embeddings", [c.TextLayers - 1, n, wt], 1 / Math.Sqrt(3)),
            new("prompt_proj.weight", [wt, wt], Math.Sqrt(2.0 / wt)),
            new("prompt_proj.bias", [wt], DefaultStd(wt)),
            new("prompt_norm.weight", [wt], 0, 1),
            new("prompt_norm.bias", [wt], 0),
            new("prompt_text_projection", [wt, wt], 1 / Math.Sqrt(wt)),
            new("Zero_try.prompt_temp_l1", [], 0, temp),
            new("Zero_try.q_proj_pre.weight", [wv, e, 1], DefaultStd(e)),
            new("Zero_try.q_proj_pre.bias", [wv], DefaultStd(e)),
        };
        foreach (var name in new[] { "k_proj_pre_1", "v_proj_pre_1", "proj_post_t" })
        {
            specs.Add(new($"Zero_try.{name}.weight", [wv, wv, 1], DefaultStd(wv)));
            specs.Add(new($"Zero_try.{name}.bias", [wv], DefaultStd(wv)));
        }
        for (var l = 0; l < arch.FeatureLayers; l++)
        {
            specs.Add(new($"trainable_linearlayer.fc.{l}.weight", [e, wv], DefaultStd(wv)));
            specs.Add(new($"trainable_linearlayer.fc.{l}.bias", [e], DefaultStd(wv)));
        }
        return Build($"random:{arch.Name}:vcp:seed{seed}", specs, seed ^ 0x5A5A5A5A, backend);
    }

    /// <summary>ViP2-CLIP's state-specific prompt tokens in random heads (n_ctx of the authors' scripts).</summary>
    public const int Vip2StateTokens = 7;

    /// <summary>ViP2-CLIP's image-conditioned generic tokens in random heads (n_cls of the authors' scripts).</summary>
    public const int Vip2GenericTokens = 3;

    /// <summary>
    /// ViP2-CLIP head weights for <paramref name="arch"/> (benchmarks, tests): ICA prompts, Meta-Nets (hidden width E / 2),
    /// prompt buffers and the FGP at the embed width. The token-id buffers hold start and end of text where the
    /// authors' tokenizer puts them for 7 + 3 learnable tokens; their other ids play no part in the forward pass.
    /// </summary>
    public static ParameterSet Vip2Heads(ModelArchitecture arch, int seed, IBackend? backend = null)
    {
        var c = arch.Clip;
        var (e, w, ctx) = (c.EmbedDim, c.TextWidth, c.ContextLength);
        var (states, generic, hidden) = (Vip2StateTokens, Vip2GenericTokens, c.EmbedDim / 2);
        var specs = new List<Spec>
        {
            new("prompt_learner.ctx_pos", [states, w], 0.02),
            new("prompt_learner.ctx_neg", [states, w], 0.02),
            new("prompt_learner.cls_ctx", [generic, w], 0.02),
            new("prompt_learner.cls_prompter.bias", [1, e], 0.02),
        };
        for (var k = 0; k < generic; k++)
        {
            specs.Add(new($"prompt_learner.cls_prompter.fc.{k}.0.weight", [hidden, e], DefaultStd(e)));
            specs.Add(new($"prompt_learner.cls_prompter.fc.{k}.0.bias", [hidden], DefaultStd(e)));
            specs.Add(new($"prompt_learner.cls_prompter.fc.{k}.2.weight", [w, hidden], DefaultStd(hidden)));
            specs.Add(new($"prompt_learner.cls_prompter.fc.{k}.2.bias", [w], DefaultStd(hidden)));
        }
        foreach (var state in new[] { "pos", "neg" })
        {
            specs.Add(new($"prompt_learner.token_prefix_{state}", [1, 1, w], 0.02));
            specs.Add(new($"prompt_learner.token_middle_{state}", [1, 1, w], 0.02));
            specs.Add(new($"prompt_learner.token_suffix_{state}", [1, ctx - 2 - states - generic, w], 0.02));
        }
        foreach (var name in new[] { "q_proj_pre", "k_proj_pre_1", "v_proj_pre_1", "proj_post_t" })
        {
            specs.Add(new($"Zero_try.{name}.weight", [e, e, 1], DefaultStd(e)));
            specs.Add(new($"Zero_try.{name}.bias", [e], DefaultStd(e)));
        }
        var set = Build($"random:{arch.Name}:vip2:seed{seed}", specs, seed ^ 0x3C3C3C3C, backend);
        var ids = new float[ctx];
        ids[0] = Text.ClipTokenizer.StartOfText;
        for (var i = 1; i < 2 + states + generic; i++)
        {
            ids[i] = 343; // any word token: only the end-of-text position matters
        }
        ids[2 + states + generic] = Text.ClipTokenizer.EndOfText;
        using var noScope = TensorScope.Suspend();
        set.Add("prompt_learner.tokenized_prompts_pos", Tensor.FromArray(ids, [1, ctx], backend));
        set.Add("prompt_learner.tokenized_prompts_neg", Tensor.FromArray(ids, [1, ctx], backend));
        return set;
    }

    /// <summary>PyTorch's default Linear/Conv init U(+-1/sqrt(fan_in)) has std 1/sqrt(3 fan_in).</summary>
    private static double DefaultStd(int fanIn) => 1.0 / Math.Sqrt(3.0 * fanIn);

    /// <summary>One residual block per layer with OpenAI's std choices (attn width^-0.5, out/proj scaled by depth, fc (2w)^-0.5).</summary>
    private static void AddBlocks(List<Spec> specs, string prefix, int layers, int width)
    {
        var attnStd = 1.0 / Math.Sqrt(width);
        var projStd = attnStd / Math.Sqrt(2.0 * layers);
        var fcStd = 1.0 / Math.Sqrt(2.0 * width);
        for (var i = 0; i < layers; i++)
        {
            var p = $"{prefix}.{i}";
            AddLayerNorm(specs, p + ".ln_1", width);
            AddLayerNorm(specs, p + ".ln_2", width);
            specs.Add(new(p + ".attn.in_proj_weight", [3 * width, width], attnStd));
            specs.Add(new(p + ".attn.in_proj_bias", [3 * width], 0));
            specs.Add(new(p + ".attn.out_proj.weight", [width, width], projStd));
            specs.Add(new(p + ".attn.out_proj.bias", [width], 0));
            specs.Add(new(p + ".mlp.c_fc.weight", [4 * width, width], fcStd));
            specs.Add(new(p + ".mlp.c_fc.bias", [4 * width], DefaultStd(width)));
            specs.Add(new(p + ".mlp.c_proj.weight", [width, 4 * width], projStd));
            specs.Add(new(p + ".mlp.c_proj.bias", [width], DefaultStd(4 * width)));
        }
    }

    private static void AddLayerNorm(List<Spec> specs, string prefix, int width)
    {
        specs.Add(new(prefix + ".weight", [width], 0, 1));
        specs.Add(new(prefix + ".bias", [width], 0));
    }

    /// <summary>A tensor to create: values uniform with standard deviation <paramref name="Std"/> around <paramref name="Mean"/>.</summary>
    private sealed record Spec(string Name, int[] Shape, double Std, double Mean = 0);

    private static ParameterSet Build(string source, List<Spec> specs, int seed, IBackend? backend, LinearWeightFormat format = LinearWeightFormat.F32)
    {
        var set = new ParameterSet(source);
        var data = new Generated[specs.Count];
        // The CPU keeps compressed weights as generated and adopts f32 arrays without a copy; other backends get uploads.
        var onCpu = (backend?.LinearWeightPlacement ?? LinearWeightPlacement.CompressedAsStored) == LinearWeightPlacement.CompressedAsStored;
        // Tensors are filled in parallel; each has its own generator seeded from (seed, index), so the values do not
        // depend on the thread count.
        CpuParallel.For(specs.Count, i =>
        {
            var spec = specs[i];
            var state = Mix((ulong)(uint)seed, (ulong)i);
            var compress = format != LinearWeightFormat.F32 && spec.Shape.Length == 2 && ClipWeightNames.IsBlockLinearWeight(spec.Name);
            data[i] = compress ? GenerateCompressed(spec, state, format, onCpu) : new Generated(Values(spec, state));
        });
        using var noScope = TensorScope.Suspend();
        for (var i = 0; i < specs.Count; i++)
        {
            var g = data[i];
            var shape = specs[i].Shape;
            // The CPU backend adopts the arrays as they are (no second copy of ~1.7 GB for ViT-L).
            var t = g.Bits is not null ? Tensor.WrapBFloat16(g.Bits, shape)
                : g.Quantized is not null ? Tensor.WrapInt8(g.Quantized, g.Scales!, shape)
                : onCpu ? Tensor.Wrap(g.Values!, shape) : Tensor.FromArray(g.Values!, shape, backend);
            set.Add(specs[i].Name, t);
            data[i] = null!;
        }
        return set;
    }

    /// <summary>One tensor's generated data: f32 values, or bf16 bits, or int8 values with their row scales.</summary>
    private sealed record Generated(float[]? Values, ushort[]? Bits = null, sbyte[]? Quantized = null, float[]? Scales = null);

    private static float[] Values(Spec spec, ulong state)
    {
        var values = new float[Shapes.Numel(spec.Shape)];
        Fill(values, spec.Std, spec.Mean, state);
        return values;
    }

    /// <summary>
    /// A linear weight generated row by row (the same values as <see cref="Values"/>: the stream continues across rows)
    /// and encoded per row, so no f32 copy of the matrix ever exists on the CPU. Other backends get the decoded values.
    /// </summary>
    private static Generated GenerateCompressed(Spec spec, ulong state, LinearWeightFormat format, bool onCpu)
    {
        var rows = spec.Shape[0];
        var cols = spec.Shape[1];
        var row = new float[cols];
        var bits = format == LinearWeightFormat.BF16 ? new ushort[rows * cols] : null;
        var q = format == LinearWeightFormat.Int8 ? new sbyte[rows * cols] : null;
        var scales = q is null ? null : new float[rows];
        for (var r = 0; r < rows; r++)
        {
            state = Fill(row, spec.Std, spec.Mean, state);
            if (bits is not null)
            {
                WeightQuantization.ToBFloat16(row, bits.AsSpan(r * cols, cols));
            }
            else
            {
                scales![r] = WeightQuantization.QuantizeInt8Row(row, q.AsSpan(r * cols, cols));
            }
        }
        if (onCpu)
        {
            return new Generated(null, bits, q, scales);
        }
        // Decoded exactly as the CPU GEMM decodes (bf16 shift; one f32 product q * scale).
        var values = new float[rows * cols];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = bits is not null ? DTypes.BFloat16ToSingle(bits[i]) : q![i] * scales![i / cols];
        }
        return new Generated(values);
    }

    /// <summary>Uniform values with the given std (half-width std * sqrt(3)) from a splitmix64 stream; returns the stream's next state.</summary>
    private static ulong Fill(Span<float> values, double std, double mean, ulong state)
    {
        var halfWidth = std * Math.Sqrt(3.0);
        for (var i = 0; i < values.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var u = (Mix(state, 0) >> 11) * (1.0 / (1UL << 53));
            values[i] = (float)(mean + (2 * u - 1) * halfWidth);
        }
        return state;
    }

    private static ulong Mix(ulong a, ulong b)
    {
        var z = a ^ (b * 0xBF58476D1CE4E5B9UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
